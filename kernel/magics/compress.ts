/**
 * %project and %prune: thin adapters over src/compress. They read the model and the data splits from session
 * variables, compress, fine-tune briefly, show the per-layer table and the comparison table (params, MACs, int8
 * flash, accuracy), and leave the new model in a variable (--out, default `<model>_projected` / `<model>_pruned`).
 */
import type * as tf from '@tensorflow/tfjs';
import { InputError } from '../../src/common/errors';
import type { ProgressEvent } from '../../src/common/progress';
import type { DataSplits } from '../../src/data/types';
import { filterPruneReport, magnitudePruneReport, projectAndFineTune } from '../../src/compress/workflow';
import type { MagicContext, MagicSpec, ParsedArgs } from './types';

const IDENT = /^[A-Za-z_$][\w$]*$/;

function modelVar(ctx: MagicContext, magic: string, name: string): tf.LayersModel {
  if (!IDENT.test(name)) throw new InputError(`%${magic}: the model must be a variable name, got '${name}'`);
  const v = ctx.getVariable(name) as { layers?: unknown; inputs?: unknown; getWeights?: unknown } | undefined;
  if (v === undefined) throw new InputError(`%${magic}: no variable '${name}'; build and train a model first, e.g. ${name} = buildCnn({...})`);
  // Duck-typed: the session's tfjs instance is the library's, but a check on shape is enough and survives reloads.
  if (typeof v !== 'object' || v === null || !Array.isArray(v.layers) || !Array.isArray(v.inputs) || typeof v.getWeights !== 'function') {
    throw new InputError(`%${magic}: '${name}' is not a tf.LayersModel`);
  }
  return v as unknown as tf.LayersModel;
}

function dataVar(ctx: MagicContext, magic: string, name: string): DataSplits {
  const v = ctx.getVariable(name) as Partial<DataSplits> | undefined;
  if (v === undefined) throw new InputError(`%${magic}: no variable '${name}' with the data; define it, e.g. ${name} = loadMnist({ size: 14 }), or pass --data NAME`);
  if (typeof v !== 'object' || v === null || !v.train || !(v.train.x instanceof Float32Array)) {
    throw new InputError(`%${magic}: '${name}' is not data splits ({train, val, test} datasets, as loadMnist() returns)`);
  }
  return v as DataSplits;
}

function progress(ctx: MagicContext): (e: ProgressEvent) => void {
  let id: string | undefined;
  return (e) => {
    const line = { 'text/plain': `${e.task}: ${e.message ?? `${e.done}/${e.total ?? '?'}`}` };
    if (id === undefined) id = ctx.display({ data: line });
    else ctx.updateDisplay(id, { data: line });
  };
}

const common = [
  { name: 'data', type: 'string', default: 'data', help: 'data splits variable ({train, val, test}); calibration and fine-tuning use train, accuracy uses test' },
  { name: 'finetune-epochs', type: 'int', default: 2, min: 0, help: 'fine-tuning epochs after compression (0: none)' },
  { name: 'lr', type: 'number', default: 0.0005, min: 0, help: 'fine-tuning learning rate (adam)' },
  { name: 'batch', type: 'int', default: 64, min: 1, help: 'fine-tuning batch size' },
  { name: 'board', type: 'string', default: 'NUCLEO-L476RG', help: 'board for the int8 flash/latency figures (see %boards)' },
  { name: 'seed', type: 'int', default: 0, help: 'seed of the fine-tuning batch order' },
] as const;

/** The model, data splits and output variable every compression magic starts from. */
function inputs(ctx: MagicContext, magic: string, args: ParsedArgs, suffix: string) {
  const name = String(args.model);
  const model = modelVar(ctx, magic, name);
  const data = dataVar(ctx, magic, String(args.data ?? 'data'));
  const out = args.out ? String(args.out) : `${name}_${suffix}`;
  if (!IDENT.test(out)) throw new InputError(`%${magic}: --out must be a variable name, got '${out}'`);
  return { model, data, out };
}

/** The fine-tuning options of the `common` arguments, with the cell's interrupt and live progress. */
function fineTuning(args: ParsedArgs, ctx: MagicContext) {
  return {
    finetuneEpochs: args['finetune-epochs'] as number,
    learningRate: args.lr as number,
    finetuneBatchSize: args.batch as number,
    board: String(args.board),
    seed: args.seed as number,
    signal: ctx.signal,
    onProgress: progress(ctx),
  };
}

export const magics: MagicSpec[] = [
  {
    name: 'project',
    kind: 'line',
    summary: 'projection pruning: PCA of each Dense/Conv input, replace layers by thin projections, fine-tune',
    help:
      'Streams the inputs of every Dense and Conv2D layer over the calibration set, keeps the top-k principal components ' +
      'and replaces the layer W by Dense/1×1-conv onto k components followed by the layer on k features (only where that ' +
      'reduces learnables). k comes from --variance (per layer) or --reduction (a global learnables goal solved across ' +
      'layers). Shows per-layer k, explained variance and params, then accuracy/params/MACs/int8 flash before and after.',
    args: [
      { name: 'model', type: 'string', positional: true, required: true, help: 'model variable (trained)' },
      { name: 'variance', type: 'number', min: 0, max: 1, help: 'explained-variance goal per layer, e.g. 0.95 (default when --reduction is absent)' },
      { name: 'reduction', type: 'number', min: 0, max: 1, help: 'global goal: remove this share of the learnables, e.g. 0.6' },
      { name: 'calibration', type: 'int', default: 1000, min: 1, help: 'calibration samples from data.train' },
      { name: 'layers', type: 'list', help: 'only these layers' },
      ...common,
      { name: 'out', type: 'string', help: 'variable for the projected model (default <model>_projected)' },
    ],
    examples: ['%project model --variance 0.95', '%project model --reduction 0.6 --finetune-epochs 2 --out small'],
    async run(args: ParsedArgs, ctx: MagicContext) {
      if (args.variance !== undefined && args.reduction !== undefined) throw new InputError('%project: give --variance or --reduction, not both');
      const { model, data, out } = inputs(ctx, 'project', args, 'projected');
      const r = await projectAndFineTune(model, data, {
        variance: args.variance as number | undefined,
        reduction: args.reduction as number | undefined,
        maxSamples: args.calibration as number,
        layers: args.layers as string[] | undefined,
        ...fineTuning(args, ctx),
      });
      ctx.setVariable(out, r.model);
      ctx.print(`projected model stored in '${out}'\n`);
      return r;
    },
  },
  {
    name: 'prune',
    kind: 'line',
    summary: 'magnitude pruning (--sparsity, polynomial schedule while fine-tuning) or structured filter pruning (--filters)',
    help:
      '--sparsity S zeroes the smallest-magnitude share S of every kernel on a TF-MOT polynomial-decay schedule during ' +
      'the fine-tune (masks re-applied after each step). --filters F removes the share F of filters with the smallest L1 ' +
      'norm from every Conv/Dense layer and shrinks the layers after them. Only structured pruning (--filters) lowers ' +
      'MCU flash and latency with dense int8 kernels; the table shows both honestly.',
    args: [
      { name: 'model', type: 'string', positional: true, required: true, help: 'model variable (trained)' },
      { name: 'sparsity', type: 'number', min: 0, max: 0.99, help: 'magnitude pruning: final share of zero weights, e.g. 0.5' },
      { name: 'filters', type: 'number', min: 0, max: 0.95, help: 'structured pruning: share of filters to remove per layer, e.g. 0.3' },
      { name: 'layers', type: 'list', help: 'only these layers' },
      ...common,
      { name: 'out', type: 'string', help: 'variable for the pruned model (default <model>_pruned)' },
    ],
    examples: ['%prune model --sparsity 0.5', '%prune model --filters 0.3 --finetune-epochs 2 --out slim'],
    async run(args: ParsedArgs, ctx: MagicContext) {
      if ((args.sparsity === undefined) === (args.filters === undefined)) throw new InputError('%prune: give exactly one of --sparsity (magnitude) or --filters (structured)');
      const { model, data, out } = inputs(ctx, 'prune', args, 'pruned');
      const ft = { ...fineTuning(args, ctx), layers: args.layers as string[] | undefined };
      const r = args.sparsity !== undefined
        ? await magnitudePruneReport(model, data, { sparsity: args.sparsity as number, ...ft })
        : await filterPruneReport(model, data, { fraction: args.filters as number, ...ft });
      ctx.setVariable(out, r.model);
      ctx.print(`pruned model stored in '${out}'\n`);
      return r;
    },
  },
];
