/**
 * Structured filter pruning by L1 norm (Li et al., "Pruning Filters for Efficient ConvNets"): the filters (output
 * channels / units) of a Conv2D, Conv1D or Dense layer with the smallest L1 kernel norm are REMOVED, and the layers
 * that read them shrink with them: BatchNorm vectors, depthwise kernels, pooling/activation/flatten pass through,
 * and the next Conv/Dense loses the matching input channels (for a Flatten in between, the matching rows at every
 * spatial position). The result is a smaller dense model, which is what lowers flash and latency on an MCU with dense
 * int8 kernels (unstructured sparsity does not: see magnitude.ts).
 *
 * What a removed filter still contributed: with its kernel gone, its output would be the constant act(bias), carried
 * through BN/activation/pooling; that constant's effect is folded into the next layer's bias. So removing filters whose
 * kernel is all zeros leaves the outputs identical (exactly so for Dense and 'valid' convolutions; a 'same'-padded next
 * conv sees padding zeros at the border where the constant would have been, so there it is the interior-exact
 * approximation).
 */
import * as tf from '@tensorflow/tfjs';
import { InputError } from '../common/errors';
import { cloneLayer, layerConsumers, learnableCount, rebuildModel } from './rebuild';

export interface FilterPruneOptions {
  /** Share of each prunable layer's filters to remove, in [0, 1). */
  fraction: number;
  /** Only these layers (names of the Conv/Dense layers whose filters are removed); default every prunable one. */
  layers?: string[];
  /** Never keep fewer filters than this per layer; default 1. */
  minFilters?: number;
}

export interface FilterPruneLayer {
  layer: string;
  /** The Conv/Dense layer whose input channels shrink. */
  next: string;
  /** Layers in between that shrink or pass through (BN, activation, pooling, depthwise, flatten, dropout). */
  through: string[];
  filtersBefore: number;
  filtersAfter: number;
  /** Indices (in the original layer) of the removed filters, ascending. */
  removed: number[];
  /** L1 norms of the removed filters. */
  removedNorms: number[];
}

export interface FilterPruneResult {
  model: tf.LayersModel;
  layers: FilterPruneLayer[];
  /** Layers that could not be pruned and why (output layer, feeds an Add, …). */
  skipped: Array<{ layer: string; reason: string }>;
  learnablesBefore: number;
  learnablesAfter: number;
  reduction: number;
}

const MAC = new Set(['Conv2D', 'Conv1D', 'Dense']);
const ELEMENTWISE = new Set(['Activation', 'ReLU', 'LeakyReLU', 'ELU', 'ThresholdedReLU', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);
const POOL = new Set(['MaxPooling1D', 'MaxPooling2D', 'AveragePooling1D', 'AveragePooling2D', 'GlobalAveragePooling1D', 'GlobalAveragePooling2D', 'GlobalMaxPooling1D', 'GlobalMaxPooling2D']);

interface Chain {
  source: tf.layers.Layer;
  through: tf.layers.Layer[];
  next: tf.layers.Layer;
  /** Spatial positions a Flatten in the chain spreads each channel over (1 without Flatten). */
  flattenPositions: number;
}

function isMac(l: tf.layers.Layer): boolean {
  return MAC.has(l.getClassName()) && Number(l.getConfig().groups ?? 1) === 1;
}

function findChain(model: tf.LayersModel, source: tf.layers.Layer): Chain | string {
  const through: tf.layers.Layer[] = [];
  let cur = source;
  let flattenPositions = 1;
  for (;;) {
    if (model.outputs.some((o) => o === cur.output)) return `'${cur.name}' is a model output`;
    const cons = layerConsumers(model, cur);
    if (cons.length !== 1) return cons.length ? `'${cur.name}' feeds ${cons.length} layers` : `'${cur.name}' has no consumer`;
    const c = cons[0];
    const cls = c.getClassName();
    if (isMac(c)) return { source, through, next: c, flattenPositions };
    if (flattenPositions > 1 && !(ELEMENTWISE.has(cls))) return `'${c.name}' (${cls}) after Flatten`;
    if (cls === 'Flatten') {
      const shp = (cur.output as tf.SymbolicTensor).shape;
      flattenPositions = shp.slice(1, -1).reduce((a: number, b) => a * (b ?? 1), 1);
    } else if (cls === 'BatchNormalization') {
      const axis = c.getConfig().axis;
      const rank = (c.output as tf.SymbolicTensor).shape.length;
      if (!(axis === -1 || axis === rank - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === rank - 1)))) return `'${c.name}' normalises a non-channel axis`;
    } else if (cls === 'DepthwiseConv2D') {
      if (Number(c.getConfig().depthMultiplier ?? 1) !== 1) return `'${c.name}' has depthMultiplier ≠ 1`;
    } else if (!ELEMENTWISE.has(cls) && !POOL.has(cls)) {
      return `'${c.name}' (${cls}) does not pass channels through one-to-one`;
    }
    through.push(c);
    cur = c;
  }
}

/** L1 norm of each output filter of a kernel (last axis). */
function filterNorms(kernel: tf.Tensor): Float64Array {
  const v = kernel.dataSync();
  const out = kernel.shape[kernel.shape.length - 1];
  const n = new Float64Array(out);
  for (let i = 0; i < v.length; i++) n[i % out] += Math.abs(v[i]);
  return n;
}

/** Apply an elementwise layer (activation) to channel values [C] in inference mode. */
function applyElementwise(l: tf.layers.Layer, v: Float64Array): Float64Array {
  // Not tf.tidy: its callback must return tensors, and this returns a plain array.
  const x = tf.tensor2d(Float32Array.from(v), [1, v.length]);
  const y = l.apply(x, { training: false }) as tf.Tensor;
  const out = Float64Array.from(y.dataSync());
  tf.dispose([x, y]);
  return out;
}

function activationOf(l: tf.layers.Layer, v: Float64Array): Float64Array {
  const act = String(l.getConfig().activation ?? 'linear');
  if (act === 'linear') return v;
  // tfjs-layers types the identifier as a union of names; the config value is one of them.
  return applyElementwise(tf.layers.activation({ activation: act as 'relu' }), v);
}

/**
 * The per-channel constant a removed filter would still have produced (act(bias)), carried through the chain.
 * Returns values for all channels of the source (only the removed ones are used).
 */
function chainConstants(chain: Chain, biasAdd: Float64Array | null): Float64Array {
  const w = chain.source.getWeights();
  const C = w[0].shape[w[0].shape.length - 1];
  let v: Float64Array = new Float64Array(C);
  if (w[1]) v = Float64Array.from(w[1].dataSync());
  // The source's own inputs may have been pruned already (layers go in topological order): its bias gained that
  // compensation, so its removed filters' constants include it.
  if (biasAdd) v = v.map((x, c) => x + biasAdd[c]);
  v = activationOf(chain.source, v);
  for (const l of chain.through) {
    const cls = l.getClassName();
    if (cls === 'BatchNormalization') {
      const cfg = l.getConfig();
      const ws = l.getWeights().map((t) => t.dataSync());
      let i = 0;
      const gamma = cfg.scale !== false ? ws[i++] : null;
      const beta = cfg.center !== false ? ws[i++] : null;
      const mean = ws[i++], variance = ws[i++];
      const eps = Number(cfg.epsilon ?? 1e-3);
      v = v.map((x, c) => (gamma ? gamma[c] : 1) * (x - mean[c]) / Math.sqrt(variance[c] + eps) + (beta ? beta[c] : 0));
    } else if (cls === 'DepthwiseConv2D') {
      const [k, b] = l.getWeights();
      const kv = k.dataSync();
      const sum = new Float64Array(C);
      for (let i = 0; i < kv.length; i++) sum[i % C] += kv[i]; // [kh, kw, C, 1]: channel is the fastest axis
      const bv = b ? b.dataSync() : null;
      v = activationOf(l, v.map((x, c) => x * sum[c] + (bv ? bv[c] : 0)));
    } else if (ELEMENTWISE.has(cls) && !cls.includes('Dropout') && !cls.includes('Noise')) {
      v = applyElementwise(l, v);
    }
    // Pooling (a constant pools to itself), Flatten and dropout/noise (identity at inference) leave v unchanged.
  }
  return v;
}

/**
 * Slice `idx` along `axis` into a FRESH tensor. Done on the CPU side on purpose: the wasm backend's Gather returns a
 * reshaped view whose storage still records a rank-4 shape, which its FusedConv2D then rejects as a bias.
 */
function gatherAxis(t: tf.Tensor, idx: number[], axis: number): tf.Tensor {
  const v = t.dataSync() as Float32Array;
  const shape = t.shape;
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const n = shape[axis];
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(outer * idx.length * inner);
  let o = 0;
  for (let a = 0; a < outer; a++) {
    for (const i of idx) {
      const src = (a * n + i) * inner;
      out.set(v.subarray(src, src + inner), o);
      o += inner;
    }
  }
  const s = shape.slice();
  s[axis] = idx.length;
  return tf.tensor(out, s);
}

/**
 * Remove the lowest-L1 filters of every prunable Conv/Dense layer (or of `opts.layers`) and shrink what follows.
 * The original model is not changed.
 */
export function pruneFilters(model: tf.LayersModel, opts: FilterPruneOptions): FilterPruneResult {
  const fraction = opts.fraction;
  if (!(fraction >= 0 && fraction < 1)) throw new InputError(`fraction must be in [0, 1), e.g. 0.3 to remove 30 % of the filters (got ${fraction})`);
  const minFilters = Math.max(1, Math.floor(opts.minFilters ?? 1));
  const want = opts.layers ? new Set(opts.layers) : null;
  if (want) {
    const names = new Set(model.layers.map((l) => l.name));
    const missing = [...want].filter((n) => !names.has(n));
    if (missing.length) throw new InputError(`no layer named ${missing.map((m) => `'${m}'`).join(', ')} in model '${model.name}'; layers: ${model.layers.map((l) => l.name).join(', ')}`);
  }
  const keepOut = new Map<string, number[]>(); // source layer → kept output channels
  const keepThrough = new Map<string, number[]>(); // BN / depthwise → kept channels
  const nextPlan = new Map<string, { rows: number[]; comp: Float64Array | null }>(); // next layer → kept input rows, bias add
  const layers: FilterPruneLayer[] = [];
  const skipped: Array<{ layer: string; reason: string }> = [];
  for (const l of model.layers) {
    if (!isMac(l) || (want && !want.has(l.name))) continue;
    const chain = findChain(model, l);
    if (typeof chain === 'string') {
      skipped.push({ layer: l.name, reason: chain });
      continue;
    }
    const kernel = l.getWeights()[0];
    const C = kernel.shape[kernel.shape.length - 1];
    const remove = Math.min(Math.floor(fraction * C), C - minFilters);
    if (remove <= 0) {
      skipped.push({ layer: l.name, reason: `${C} filters: removing ${(100 * fraction).toFixed(0)} % leaves none to remove` });
      continue;
    }
    const norms = filterNorms(kernel);
    const order = Array.from(norms.keys()).sort((a, b) => norms[a] - norms[b] || a - b);
    const removed = order.slice(0, remove).sort((a, b) => a - b);
    const rm = new Set(removed);
    const kept = Array.from({ length: C }, (_, i) => i).filter((i) => !rm.has(i));
    keepOut.set(l.name, kept);
    for (const t of chain.through) if (t.getWeights().length) keepThrough.set(t.name, kept);
    // Next layer: kept input rows (Flatten spreads channel c over positions p as row p·C + c).
    const P = chain.flattenPositions;
    const rows: number[] = [];
    for (let p = 0; p < P; p++) for (const c of kept) rows.push(p * C + c);
    // Constant contribution of the removed channels, summed over positions / kernel taps.
    const v = chainConstants(chain, nextPlan.get(l.name)?.comp ?? null);
    const nk = chain.next.getWeights()[0];
    const nv = nk.dataSync();
    const inRows = nk.shape[nk.shape.length - 2];
    const out = nk.shape[nk.shape.length - 1];
    const comp = new Float64Array(out);
    let any = false;
    for (let r = 0; r < nv.length / out; r++) {
      const row = r % inRows; // taps are the leading axes
      const c = row % C;
      if (!rm.has(c) || v[c] === 0) continue;
      any = true;
      for (let o = 0; o < out; o++) comp[o] += nv[r * out + o] * v[c];
    }
    if (nextPlan.has(chain.next.name)) throw new InputError(`layer '${chain.next.name}' reads two pruned layers; prune them one at a time`);
    nextPlan.set(chain.next.name, { rows, comp: any ? comp : null });
    layers.push({
      layer: l.name,
      next: chain.next.name,
      through: chain.through.map((t) => t.name),
      filtersBefore: C,
      filtersAfter: kept.length,
      removed,
      removedNorms: removed.map((i) => norms[i]),
    });
  }

  const pruned = rebuildModel(model, (layer) => {
    const ko = keepOut.get(layer.name), kt = keepThrough.get(layer.name), np = nextPlan.get(layer.name);
    if (!ko && !kt && !np) return undefined;
    return (inputs) => {
      let ws = layer.getWeights().map((w) => w.clone());
      const replace = (i: number, t: tf.Tensor) => {
        ws[i].dispose();
        ws[i] = t;
      };
      const overrides: Record<string, unknown> = {};
      if (np) {
        const k = ws[0];
        replace(0, gatherAxis(k, np.rows, k.shape.length - 2));
        if (np.comp) {
          if (ws[1]) {
            const bv = ws[1].dataSync();
            replace(1, tf.tensor1d(Float32Array.from(np.comp, (c, i) => c + bv[i])));
          }
          else {
            ws.push(tf.tensor1d(Float32Array.from(np.comp)));
            overrides.useBias = true;
          }
        }
      }
      if (ko) {
        const k = ws[0];
        replace(0, gatherAxis(k, ko, k.shape.length - 1));
        if (ws[1]) replace(1, gatherAxis(ws[1], ko, 0));
        overrides[layer.getClassName() === 'Dense' ? 'units' : 'filters'] = ko.length;
      }
      if (kt) {
        if (layer.getClassName() === 'DepthwiseConv2D') {
          replace(0, gatherAxis(ws[0], kt, 2));
          if (ws[1]) replace(1, gatherAxis(ws[1], kt, 0));
        } else ws = ws.map((w) => { const g = gatherAxis(w, kt, 0); w.dispose(); return g; });
      }
      const nl = cloneLayer(layer, overrides);
      const y = nl.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.SymbolicTensor;
      nl.setWeights(ws);
      tf.dispose(ws);
      return y;
    };
  }, `${model.name}_pruned`);
  const before = learnableCount(model);
  const after = learnableCount(pruned);
  return { model: pruned, layers, skipped, learnablesBefore: before, learnablesAfter: after, reduction: 1 - after / before };
}
