/**
 * Students derived from a teacher: "same family, fewer blocks / narrower".
 *
 * The teacher must be a plain chain (each layer feeds the next: the CNN, DS-CNN, MobileNetV1 and MLP builders give
 * one) ending in Dense(numClasses, softmax). Its layers are read as
 *   stem (anything before the first conv) · feature blocks (a conv / depthwise conv and the BN, activation, pooling,
 *   dropout that follow it) · tail (flatten or global pooling, hidden dense layers, the softmax head).
 * A student keeps the first `blocks` feature blocks with every conv's filters and every hidden dense's units scaled by
 * `width`. Dropping blocks leaves a larger feature map; `reduce` says what absorbs it:
 *   'pool'    keep the dropped blocks' pooling layers, so the map reaching the tail is as small as the teacher's;
 *   'gap'     replace the tail's Flatten by global average pooling (the head then sees only channels);
 *   'flatten' keep the tail as it is (the head grows with the larger map).
 * Without explicit blocks/width, the largest candidate with at least `reduction`× fewer learnables is chosen.
 * Layers are rebuilt from their configs with fresh seeded initialisers (no weights are copied from the teacher).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';

/** One rebuilt layer: a factory taking the width multiplier (so the same plan yields every candidate). */
interface LayerPlan {
  cls: string;
  kind: 'stem' | 'block' | 'tail';
  /** Index of the feature block it belongs to (blocks only). */
  block: number;
  /** Whether this layer is the pooling of its block (kept in 'pool' mode when the block is dropped). */
  isPool: boolean;
  make(width: number, init: () => tf.serialization.Serializable | undefined, name: string): tf.layers.Layer;
}

export type ReduceMode = 'pool' | 'gap' | 'flatten';

export interface StudentOptions {
  /** Feature blocks to keep (1 … teacher's). Default: searched. */
  blocks?: number;
  /** Width multiplier for conv filters and hidden dense units (0 < width ≤ 1). Default: searched. */
  width?: number;
  /** What absorbs the larger feature map when blocks are dropped (see the module comment). Default: searched. */
  reduce?: ReduceMode;
  /** Target: at least this many times fewer learnable parameters than the teacher (default 5). */
  reduction?: number;
  /** Seed of the student's initial weights (default 0). */
  seed?: number;
  name?: string;
}

export interface DerivedStudent {
  model: tf.LayersModel;
  blocks: number;
  teacherBlocks: number;
  width: number;
  reduce: ReduceMode;
  teacherLearnables: number;
  studentLearnables: number;
  /** teacherLearnables / studentLearnables. */
  reduction: number;
  /** One line for people, e.g. "student: 2 of 3 blocks, width 0.5, pool → 12,345 learnables (8.1× fewer than 100,000)". */
  description: string;
}

const WIDTHS = [1, 0.75, 0.5, 0.375, 0.25, 0.1875, 0.125, 0.0625];

/** Learnable (trainable) parameters of a model. */
export function learnables(model: tf.LayersModel): number {
  return model.trainableWeights.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
}

const CONVS = new Set(['Conv2D', 'Conv1D', 'DepthwiseConv2D', 'SeparableConv2D']);
const POOLS = new Set(['MaxPooling2D', 'AveragePooling2D', 'MaxPooling1D', 'AveragePooling1D']);
const GLOBAL = new Set(['GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'GlobalAveragePooling1D', 'GlobalMaxPooling1D']);

type Cfg = Record<string, unknown>;
const scaled = (n: number, w: number, min: number) => Math.max(min, Math.round(n * w));
// tfjs-layers' constructor argument types are wide unions of identifiers; configs read back from getConfig() are
// plain JSON of exactly those identifiers, so passing them through is safe. `as never` marks each such spot.

function planLayer(layer: tf.layers.Layer, kind: LayerPlan['kind'], block: number, isLast: boolean): LayerPlan {
  const cls = layer.getClassName();
  const c: Cfg = layer.getConfig();
  const base = { cls, kind, block, isPool: POOLS.has(cls) };
  const mk = (f: LayerPlan['make']): LayerPlan => ({ ...base, make: f });
  switch (cls) {
    case 'Conv2D':
    case 'Conv1D':
      return mk((w, init, name) => {
        const args = {
          filters: scaled(Number(c.filters), w, 4), kernelSize: c.kernelSize as never, strides: c.strides as never,
          padding: c.padding as never, dilationRate: c.dilationRate as never, activation: c.activation as never,
          useBias: c.useBias !== false, kernelInitializer: init() as never, name,
        };
        return cls === 'Conv2D' ? tf.layers.conv2d(args) : tf.layers.conv1d(args);
      });
    case 'DepthwiseConv2D':
      return mk((_w, init, name) =>
        tf.layers.depthwiseConv2d({
          kernelSize: c.kernelSize as never, strides: c.strides as never, padding: c.padding as never,
          depthMultiplier: Number(c.depthMultiplier ?? 1), activation: c.activation as never, useBias: c.useBias !== false,
          depthwiseInitializer: init() as never, name,
        }),
      );
    case 'SeparableConv2D':
      return mk((w, init, name) =>
        tf.layers.separableConv2d({
          filters: scaled(Number(c.filters), w, 4), kernelSize: c.kernelSize as never, strides: c.strides as never,
          padding: c.padding as never, depthMultiplier: Number(c.depthMultiplier ?? 1), activation: c.activation as never,
          useBias: c.useBias !== false, depthwiseInitializer: init() as never, pointwiseInitializer: init() as never, name,
        }),
      );
    case 'BatchNormalization':
      return mk((_w, _i, name) =>
        tf.layers.batchNormalization({ momentum: Number(c.momentum ?? 0.99), epsilon: Number(c.epsilon ?? 1e-3), name }),
      );
    case 'Activation':
      return mk((_w, _i, name) => tf.layers.activation({ activation: c.activation as never, name }));
    case 'ReLU':
      return mk((_w, _i, name) => tf.layers.reLU({ maxValue: c.maxValue == null ? undefined : Number(c.maxValue), name }));
    case 'Dropout':
      return mk((_w, _i, name) => tf.layers.dropout({ rate: Number(c.rate), name }));
    case 'Flatten':
      return mk((_w, _i, name) => tf.layers.flatten({ name }));
    case 'MaxPooling2D':
    case 'AveragePooling2D':
    case 'MaxPooling1D':
    case 'AveragePooling1D': {
      const f = { MaxPooling2D: tf.layers.maxPooling2d, AveragePooling2D: tf.layers.averagePooling2d, MaxPooling1D: tf.layers.maxPooling1d, AveragePooling1D: tf.layers.averagePooling1d }[cls];
      return mk((_w, _i, name) => f({ poolSize: c.poolSize as never, strides: c.strides as never, padding: c.padding as never, name }));
    }
    case 'GlobalAveragePooling2D':
    case 'GlobalMaxPooling2D':
    case 'GlobalAveragePooling1D':
    case 'GlobalMaxPooling1D': {
      const f = { GlobalAveragePooling2D: tf.layers.globalAveragePooling2d, GlobalMaxPooling2D: tf.layers.globalMaxPooling2d, GlobalAveragePooling1D: tf.layers.globalAveragePooling1d, GlobalMaxPooling1D: tf.layers.globalMaxPooling1d }[cls];
      return mk((_w, _i, name) => f({ name }));
    }
    case 'Dense':
      return mk((w, init, name) =>
        tf.layers.dense({
          // The head keeps numClasses; hidden layers are scaled.
          units: isLast ? Number(c.units) : scaled(Number(c.units), w, 8),
          activation: c.activation as never, useBias: c.useBias !== false, kernelInitializer: init() as never,
          name: isLast ? 'logits' : name,
        }),
      );
    default:
      throw new InputError(
        `cannot derive a student from layer '${layer.name}' (${cls}): pass your own student model, e.g. buildCnn({...}) with fewer filters`,
      );
  }
}

interface TeacherPlan {
  inputShape: number[];
  layers: LayerPlan[];
  blocks: number;
  hasFlatten: boolean;
  is1d: boolean;
}

function planTeacher(teacher: tf.LayersModel): TeacherPlan {
  if (teacher.inputs.length !== 1 || teacher.outputs.length !== 1) {
    throw new InputError(`teacher '${teacher.name}' has several inputs or outputs: pass a student model explicitly`);
  }
  const layers = teacher.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const last = layers[layers.length - 1];
  if (!last || last.getClassName() !== 'Dense' || last.getConfig().activation !== 'softmax') {
    throw new InputError(`teacher '${teacher.name}' does not end in Dense(numClasses, softmax): distillation needs its logits; rebuild it with a softmax head`);
  }
  // A plain chain: every layer's single input is the previous layer's output.
  let prev = teacher.inputs[0];
  for (const l of layers) {
    const inp = l.input;
    if (Array.isArray(inp) || inp !== prev || l.inboundNodes.length !== 1) {
      throw new InputError(
        `teacher '${teacher.name}' is not a plain chain of layers (at '${l.name}', e.g. a residual connection): pass a student model explicitly`,
      );
    }
    prev = l.output as tf.SymbolicTensor;
  }
  const plan: LayerPlan[] = [];
  let block = -1;
  let inTail = false;
  layers.forEach((l, i) => {
    const cls = l.getClassName();
    if (!inTail && (cls === 'Flatten' || GLOBAL.has(cls) || cls === 'Dense')) inTail = true;
    if (!inTail && CONVS.has(cls)) block++;
    const kind: LayerPlan['kind'] = inTail ? 'tail' : block < 0 ? 'stem' : 'block';
    plan.push(planLayer(l, kind, block, i === layers.length - 1));
  });
  const inputShape = teacher.inputs[0].shape.slice(1) as number[];
  return { inputShape, layers: plan, blocks: block + 1, hasFlatten: plan.some((p) => p.cls === 'Flatten'), is1d: inputShape.length === 2 };
}

function buildStudent(p: TeacherPlan, blocks: number, width: number, reduce: ReduceMode, seed: number, name: string): tf.LayersModel {
  let k = 0;
  const init = () => tf.initializers.heNormal({ seed: seed * 1000 + k++ });
  const input = tf.input({ shape: p.inputShape });
  let x: tf.SymbolicTensor = input;
  let n = 0;
  const apply = (lp: LayerPlan) => {
    x = lp.make(width, init, `${name}_${lp.cls.toLowerCase()}_${n++}`).apply(x) as tf.SymbolicTensor;
  };
  for (const lp of p.layers) {
    if (lp.kind === 'block' && lp.block >= blocks) {
      if (reduce === 'pool' && lp.isPool) apply(lp);
      continue;
    }
    if (lp.cls === 'Flatten' && reduce === 'gap' && p.blocks > 0) {
      const gap = p.is1d ? tf.layers.globalAveragePooling1d({}) : tf.layers.globalAveragePooling2d({});
      x = gap.apply(x) as tf.SymbolicTensor;
      continue;
    }
    apply(lp);
  }
  return tf.model({ inputs: input, outputs: x, name });
}

/** Every variant the teacher allows (fewer blocks, narrower, reduction mode), largest first. */
function candidates(p: TeacherPlan): Array<{ blocks: number; width: number; reduce: ReduceMode }> {
  const out: Array<{ blocks: number; width: number; reduce: ReduceMode }> = [];
  const modes: ReduceMode[] = p.blocks > 0 && p.hasFlatten ? ['pool', 'gap'] : ['pool'];
  for (let b = Math.max(1, p.blocks); b >= 1; b--) for (const w of WIDTHS) for (const r of modes) out.push({ blocks: b, width: w, reduce: r });
  return out;
}

/**
 * A smaller student of the teacher's family. With `blocks`/`width`/`reduce` given, exactly that; otherwise the
 * candidate with the most learnables among those with at least `reduction`× (default 5) fewer than the teacher
 * (ties: more blocks, then pooling over GAP). Throws InputError, naming the fix, when nothing is small enough.
 */
export function deriveStudent(teacher: tf.LayersModel, opts: StudentOptions = {}): DerivedStudent {
  const p = planTeacher(teacher);
  const seed = opts.seed ?? 0;
  const name = opts.name ?? `${teacher.name}_student`;
  const target = opts.reduction ?? 5;
  if (opts.width !== undefined && !(opts.width > 0 && opts.width <= 1)) throw new InputError(`width must be in (0, 1] (got ${opts.width})`);
  if (opts.blocks !== undefined && !(Number.isInteger(opts.blocks) && opts.blocks >= 1 && opts.blocks <= Math.max(1, p.blocks))) {
    throw new InputError(`blocks must be an integer from 1 to the teacher's ${p.blocks} feature blocks (got ${opts.blocks})`);
  }
  const teacherLearnables = learnables(teacher);
  const cands = candidates(p).filter(
    (c) => (opts.blocks === undefined || c.blocks === opts.blocks) && (opts.width === undefined || c.width === opts.width) && (opts.reduce === undefined || c.reduce === opts.reduce),
  );
  if (opts.width !== undefined && !WIDTHS.includes(opts.width)) {
    for (let b = Math.max(1, p.blocks); b >= 1; b--) if (opts.blocks === undefined || b === opts.blocks) cands.push({ blocks: b, width: opts.width, reduce: opts.reduce ?? 'pool' });
  }
  const explicit = opts.blocks !== undefined && opts.width !== undefined;
  let best: { c: (typeof cands)[number]; n: number } | undefined;
  for (const c of cands) {
    // Build to count exactly (learnables depend on shapes); tiny models, and disposed straight away.
    const m = buildStudent(p, c.blocks, c.width, c.reduce, seed, name);
    const n = learnables(m);
    m.dispose();
    const fits = explicit || teacherLearnables / n >= target;
    if (fits && (!best || n > best.n)) best = { c, n };
    if (explicit) break;
  }
  if (!best) {
    throw new InputError(
      `no student of '${teacher.name}' is ${target}× smaller (${teacherLearnables.toLocaleString('en-US')} learnables): ` +
        `lower 'reduction', or pass your own student model`,
    );
  }
  const { blocks, width, reduce } = best.c;
  const model = buildStudent(p, blocks, width, reduce, seed, name);
  const studentLearnables = learnables(model);
  const reduction = teacherLearnables / studentLearnables;
  const fmt = (v: number) => v.toLocaleString('en-US');
  return {
    model,
    blocks: Math.min(blocks, p.blocks), // 0 for teachers without conv blocks (MLPs: only narrower)
    teacherBlocks: p.blocks,
    width,
    reduce,
    teacherLearnables,
    studentLearnables,
    reduction,
    description:
      `student: ${p.blocks > 0 ? `${blocks} of ${p.blocks} blocks, width ×${width}, ${reduce}` : `width ×${width}`} → ${fmt(studentLearnables)} learnables ` +
      `(${reduction.toFixed(1)}× fewer than the teacher's ${fmt(teacherLearnables)})`,
  };
}
