/**
 * Projection pruning ("neuron PCA"): principal components of each Dense/Conv2D layer's INPUT activations over a
 * calibration set; a layer W is replaced by a thin projection onto the top-k components followed by the original
 * layer acting on k features.
 *
 *   Dense  W (in→out), bias b:   Dense(in→k, kernel Q, no bias)  →  Dense(k→out, kernel QᵀW, bias b')
 *   Conv2D K [kh,kw,cin,cout]:   Conv2D 1×1 (cin→k, Q, no bias) →  Conv2D [kh,kw,k,cout] with K'[i,j] = QᵀK[i,j], bias b'
 *
 * Centring. Q holds the top-k eigenvectors of the CENTRED covariance (explained variance is the usual PCA share).
 * The mean μ is handled in one of two ways, both EXACT whenever the inputs lie in a k-dimensional affine subspace
 * μ + span(Q):
 *  - 'bias' (Dense, 'valid' convs): x ≈ μ + QQᵀ(x−μ) = QQᵀx + (I−QQᵀ)μ, so the second layer's bias absorbs the part of
 *    the mean outside the subspace: b' = b + Wᵀ(μ − QQᵀμ) (for conv, summed over the kernel taps).
 *  - 'basis' ('same'-padded convs): the zero padding is not on the affine subspace, so a bias correction would be
 *    wrong at the borders. Instead the projection gets one more channel, the unit residual of μ outside span(Q)
 *    (or the next principal component when μ is already inside), so x ≈ Q'Q'ᵀx holds for the inputs AND the padding
 *    zeros; b' = b. Its projection is k+1 channels wide (`channels`).
 *
 * A layer is only replaced where that reduces its learnables: in·k + k·out (+ bias) < in·out (+ bias).
 * All layers' statistics come from ONE calibration pass over the original model (errors of earlier projections are
 * not re-calibrated; the fine-tune recovers them). Conv1D, grouped and depthwise convolutions are left alone.
 */
import * as tf from '@tensorflow/tfjs';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { InputError, throwIfAborted } from '../common/errors';
import type { LongRunOptions } from '../common/progress';
import type { Dataset } from '../data/types';
import { datasetSize } from '../data/types';
import { featureSize } from '../data/split';
import { checkInputShape } from '../train/forward';
import { cloneLayer, layerInboundNode, learnableCount, rebuildModel } from './rebuild';
import { CovarianceAccumulator } from './stats';

export interface CalibrationOptions extends LongRunOptions {
  /** Calibration samples used (the first ones of the dataset); default 1000. */
  maxSamples?: number;
  /** Batch size of the calibration passes; default 128. */
  batchSize?: number;
  /** Only these layers (names); default every Dense and Conv2D layer. */
  layers?: string[];
  /** Layers whose input has more features than this are skipped (eigen-decomposition is O(dim³)); default 2048. */
  maxDim?: number;
}

/** Input statistics of one candidate layer. */
export interface LayerInputStats {
  layer: string;
  kind: 'dense' | 'conv2d';
  dim: number;
  /** How the mean is kept: absorbed into the second layer's bias, or as an extra basis direction ('same' convs). */
  meanHandling: 'bias' | 'basis';
  acc: CovarianceAccumulator;
}

/** Eigen-decomposed statistics: eigenvalues descending, eigenvectors as columns of a dim×dim row-major array. */
export interface LayerSpectrum extends Omit<LayerInputStats, 'acc'> {
  mean: Float64Array;
  eigenvalues: Float64Array;
  eigenvectors: Float64Array;
  /** cumulative[k-1] = share of the total variance (or energy) carried by the top k components. */
  cumulative: Float64Array;
  samples: number;
}

export interface LayerProjection {
  layer: string;
  kind: 'dense' | 'conv2d';
  inputDim: number;
  /** Components kept (= inputDim when not projected). */
  k: number;
  /** Projection width: k, or k+1 when the mean is kept as a basis direction. */
  channels: number;
  /** Share of the (centred) input variance the k kept components carry. */
  explainedVariance: number;
  paramsBefore: number;
  paramsAfter: number;
  projected: boolean;
  meanHandling: 'bias' | 'basis';
  /** Why a layer was left alone. */
  note?: string;
}

export interface ProjectOptions extends CalibrationOptions {
  /** Per-layer explained-variance goal in (0, 1]; default 0.95 unless `reduction` is given. */
  variance?: number;
  /** Global learnables-reduction goal in (0, 1): remove this share of the model's learnables. */
  reduction?: number;
  /** Smallest k considered; default 1. */
  minK?: number;
  /** Spectra computed earlier (reuse across goals without another calibration pass). */
  spectra?: LayerSpectrum[];
}

export interface ProjectionResult {
  model: tf.LayersModel;
  layers: LayerProjection[];
  learnablesBefore: number;
  learnablesAfter: number;
  /** 1 − after/before. */
  reduction: number;
  goal: { variance?: number; reduction?: number };
  /** The common per-layer explained-variance threshold the reduction goal was solved to (reduction goal only). */
  threshold: number;
  spectra: LayerSpectrum[];
}

function isConv2d(l: tf.layers.Layer): boolean {
  return l.getClassName() === 'Conv2D';
}

function kernelDims(l: tf.layers.Layer): number[] {
  return l.getWeights()[0]?.shape ?? [];
}

function hasBias(l: tf.layers.Layer): boolean {
  return l.getConfig().useBias !== false;
}

/** Candidate layers: Dense on any rank, Conv2D without groups/dilation restrictions (1 group). */
function candidates(model: tf.LayersModel, opts: CalibrationOptions): Array<{ layer: tf.layers.Layer; kind: 'dense' | 'conv2d'; dim: number; meanHandling: 'bias' | 'basis' }> {
  const want = opts.layers ? new Set(opts.layers) : null;
  if (want) {
    const names = new Set(model.layers.map((l) => l.name));
    const missing = [...want].filter((n) => !names.has(n));
    if (missing.length) throw new InputError(`no layer named ${missing.map((m) => `'${m}'`).join(', ')} in model '${model.name}'; layers: ${model.layers.map((l) => l.name).join(', ')}`);
  }
  const out: Array<{ layer: tf.layers.Layer; kind: 'dense' | 'conv2d'; dim: number; meanHandling: 'bias' | 'basis' }> = [];
  for (const l of model.layers) {
    const cls = l.getClassName();
    if (cls !== 'Dense' && cls !== 'Conv2D') continue;
    if (want && !want.has(l.name)) continue;
    const cfg = l.getConfig();
    if (cls === 'Conv2D' && Number(cfg.groups ?? 1) !== 1) continue;
    const dim = kernelDims(l)[cls === 'Dense' ? 0 : 2];
    const meanHandling = cls === 'Conv2D' && cfg.padding === 'same' ? 'basis' : 'bias';
    out.push({ layer: l, kind: cls === 'Dense' ? 'dense' : 'conv2d', dim, meanHandling });
  }
  return out;
}

/**
 * Stream the inputs of every candidate layer over the calibration set into streaming covariances (one pass,
 * one multi-output model; conv inputs contribute one vector per spatial position).
 */
export async function collectInputStats(model: tf.LayersModel, calib: Dataset, opts: CalibrationOptions = {}): Promise<LayerInputStats[]> {
  checkInputShape(model, calib);
  const maxDim = opts.maxDim ?? 2048;
  const cands = candidates(model, opts).filter((c) => c.dim <= maxDim);
  if (!cands.length) return [];
  const n = Math.min(datasetSize(calib), opts.maxSamples ?? 1000);
  if (n === 0) throw new InputError(`calibration data '${calib.name}' is empty: pass some training samples`);
  const tensors = cands.map((c) => layerInboundNode(c.layer)!.inputTensors[0]);
  const probe = tf.model({ inputs: model.inputs, outputs: tensors, name: `${model.name}_probe` });
  const stats: LayerInputStats[] = cands.map((c) => ({ layer: c.layer.name, kind: c.kind, dim: c.dim, meanHandling: c.meanHandling, acc: new CovarianceAccumulator(c.dim) }));
  const f = featureSize(calib);
  const bs = opts.batchSize ?? 128;
  const batches = Math.ceil(n / bs);
  for (let b = 0; b < batches; b++) {
    if (opts.signal?.aborted) break; // keep the statistics of the batches seen so far
    const s = b * bs, e = Math.min(n, s + bs);
    tf.tidy(() => {
      const x = tf.tensor(calib.x.subarray(s * f, e * f), [e - s, ...calib.sampleShape]);
      let outs = probe.apply(x, { training: false }) as tf.Tensor | tf.Tensor[];
      if (!Array.isArray(outs)) outs = [outs];
      outs.forEach((o, i) => stats[i].acc.addTensor(o));
    });
    opts.onProgress?.({ task: 'calibrate', done: b + 1, total: batches, message: `calibration batch ${b + 1}/${batches}` });
    await new Promise<void>((r) => setImmediate(r));
  }
  if (stats[0].acc.count === 0) throw new InputError('calibration was interrupted before the first batch; run it again');
  return stats;
}

/** Eigen-decompose (ml-matrix, symmetric) and sort descending. */
export function layerSpectrum(s: LayerInputStats): LayerSpectrum {
  const d = s.dim;
  const c = s.acc.covariance();
  const rows: number[][] = [];
  for (let i = 0; i < d; i++) rows.push(Array.from(c.subarray(i * d, (i + 1) * d)));
  const evd = new EigenvalueDecomposition(new Matrix(rows), { assumeSymmetric: true });
  const vals = evd.realEigenvalues;
  const vecs = evd.eigenvectorMatrix;
  const order = vals.map((_, i) => i).sort((a, b) => vals[b] - vals[a]);
  const eigenvalues = new Float64Array(d);
  const eigenvectors = new Float64Array(d * d);
  order.forEach((src, j) => {
    eigenvalues[j] = Math.max(0, vals[src]); // round-off can leave tiny negatives on a PSD matrix
    for (let i = 0; i < d; i++) eigenvectors[i * d + j] = vecs.get(i, src);
  });
  const total = eigenvalues.reduce((a, b) => a + b, 0);
  const cumulative = new Float64Array(d);
  let run = 0;
  for (let j = 0; j < d; j++) {
    run += eigenvalues[j];
    cumulative[j] = total > 0 ? run / total : 1;
  }
  return { layer: s.layer, kind: s.kind, dim: d, meanHandling: s.meanHandling, mean: Float64Array.from(s.acc.mean), eigenvalues, eigenvectors, cumulative, samples: s.acc.count };
}

/** Learnables of a layer before, and after projection to a width of k channels. */
function layerParams(l: tf.layers.Layer, k: number, centred: boolean): { before: number; after: number } {
  // centred: the mean goes into the second layer's bias, which a bias-free layer then gains.
  const ks = kernelDims(l);
  const bias = hasBias(l);
  if (l.getClassName() === 'Dense') {
    const [inD, out] = ks;
    // Centring adds a bias to a bias-free layer (it absorbs the mean); count it.
    return { before: inD * out + (bias ? out : 0), after: inD * k + k * out + (bias || centred ? out : 0) };
  }
  const [kh, kw, cin, cout] = ks;
  return { before: kh * kw * cin * cout + (bias ? cout : 0), after: cin * k + kh * kw * k * cout + (bias || centred ? cout : 0) };
}

function kForVariance(sp: LayerSpectrum, goal: number, minK: number): number {
  let k = 1;
  while (k < sp.dim && sp.cumulative[k - 1] < goal - 1e-12) k++;
  return Math.min(sp.dim, Math.max(minK, k));
}

/** Plan per layer: k from a common explained-variance threshold; projected only where learnables drop. */
function planAt(model: tf.LayersModel, spectra: LayerSpectrum[], threshold: number, minK: number): LayerProjection[] {
  return spectra.map((sp) => {
    const l = model.getLayer(sp.layer);
    const k = kForVariance(sp, threshold, minK);
    const channels = sp.meanHandling === 'basis' ? Math.min(sp.dim, k + 1) : k;
    const p = layerParams(l, channels, sp.meanHandling === 'bias');
    const projected = channels < sp.dim && p.after < p.before;
    return {
      layer: sp.layer,
      kind: sp.kind,
      inputDim: sp.dim,
      k: projected ? k : sp.dim,
      channels: projected ? channels : sp.dim,
      explainedVariance: projected ? sp.cumulative[k - 1] : 1,
      paramsBefore: p.before,
      paramsAfter: projected ? p.after : p.before,
      projected,
      meanHandling: sp.meanHandling,
      note: projected ? undefined : `k=${channels} would not reduce learnables (${p.after} ≥ ${p.before})`,
    };
  });
}

function totalAfter(before: number, plan: LayerProjection[]): number {
  return before - plan.reduce((a, p) => a + (p.paramsBefore - p.paramsAfter), 0);
}

/**
 * Build the projected model from spectra and a plan. The original model is not changed.
 */
export function buildProjected(model: tf.LayersModel, spectra: LayerSpectrum[], plan: LayerProjection[]): tf.LayersModel {
  const byName = new Map(spectra.map((s) => [s.layer, s]));
  const planned = new Map(plan.filter((p) => p.projected).map((p) => [p.layer, p]));
  return rebuildModel(model, (layer) => {
    const p = planned.get(layer.name);
    if (!p) return undefined;
    const sp = byName.get(layer.name)!;
    return (inputs) => projectLayer(layer, sp, p.k, p.channels, inputs[0]);
  }, `${model.name}_projected`);
}

/** Apply the two replacement layers of one projected layer to `x` and set their weights. */
function projectLayer(layer: tf.layers.Layer, sp: LayerSpectrum, kc: number, k: number, x: tf.SymbolicTensor): tf.SymbolicTensor {
  const d = sp.dim;
  const [kernel, bias] = layer.getWeights();
  const W = kernel.dataSync() as Float32Array;
  const ks = kernel.shape;
  const taps = ks.length === 4 ? ks[0] * ks[1] : 1;
  const out = ks[ks.length - 1];
  // Q: d×k, row-major: the top kc principal components, plus (basis mode) the mean's residual direction.
  const Q = new Float64Array(d * k);
  for (let i = 0; i < d; i++) for (let j = 0; j < kc; j++) Q[i * k + j] = sp.eigenvectors[i * d + j];
  if (k > kc) {
    const r = new Float64Array(d);
    for (let i = 0; i < d; i++) r[i] = sp.mean[i];
    for (let j = 0; j < kc; j++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += Q[i * k + j] * sp.mean[i];
      for (let i = 0; i < d; i++) r[i] -= dot * Q[i * k + j];
    }
    const norm = Math.hypot(...r);
    const meanNorm = Math.hypot(...sp.mean);
    // μ already (numerically) inside span(Q): the next principal component is the better use of the channel.
    const useMean = norm > 1e-6 * Math.max(meanNorm, 1e-30);
    for (let i = 0; i < d; i++) Q[i * k + kc] = useMean ? r[i] / norm : sp.eigenvectors[i * d + kc];
  }
  // W'[t] = Qᵀ W[t] per kernel tap t (W[t] is d×out).
  const W2 = new Float32Array(taps * k * out);
  for (let t = 0; t < taps; t++) {
    const wo = t * d * out;
    for (let j = 0; j < k; j++) {
      const row = new Float64Array(out);
      for (let i = 0; i < d; i++) {
        const q = Q[i * k + j];
        if (q === 0) continue;
        const wr = wo + i * out;
        for (let o = 0; o < out; o++) row[o] += q * W[wr + o];
      }
      W2.set(row, t * k * out + j * out);
    }
  }
  // Bias: b + Σ_t W[t]ᵀ r with r = μ − QQᵀμ (centred layers only).
  const b2 = new Float64Array(out);
  if (bias) {
    const bv = bias.dataSync();
    for (let o = 0; o < out; o++) b2[o] = bv[o];
  }
  const centred = sp.meanHandling === 'bias';
  const useBias = !!bias || centred;
  if (centred) {
    const qtm = new Float64Array(k);
    for (let j = 0; j < k; j++) for (let i = 0; i < d; i++) qtm[j] += Q[i * k + j] * sp.mean[i];
    const r = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += Q[i * k + j] * qtm[j];
      r[i] = sp.mean[i] - s;
    }
    for (let t = 0; t < taps; t++) {
      for (let i = 0; i < d; i++) {
        if (r[i] === 0) continue;
        const wr = t * d * out + i * out;
        for (let o = 0; o < out; o++) b2[o] += W[wr + o] * r[i];
      }
    }
  }
  const name = layer.name;
  let projector: tf.layers.Layer;
  if (isConv2d(layer)) {
    projector = tf.layers.conv2d({ filters: k, kernelSize: 1, useBias: false, name: `${name}_proj` });
  } else {
    projector = tf.layers.dense({ units: k, useBias: false, name: `${name}_proj` });
  }
  const z = projector.apply(x) as tf.SymbolicTensor;
  const qShape = isConv2d(layer) ? [1, 1, d, k] : [d, k];
  const qT = tf.tensor(Float32Array.from(Q), qShape);
  projector.setWeights([qT]);
  qT.dispose();
  const second = cloneLayer(layer, { useBias, name });
  const y = second.apply(z) as tf.SymbolicTensor;
  const kShape = ks.length === 4 ? [ks[0], ks[1], k, out] : [k, out];
  const w2 = tf.tensor(W2, kShape);
  const bT = useBias ? tf.tensor1d(Float32Array.from(b2)) : null;
  second.setWeights(bT ? [w2, bT] : [w2]);
  w2.dispose();
  bT?.dispose();
  return y;
}

/**
 * Projection pruning of `model` from calibration data (or precomputed `spectra`). Goal: `variance` per layer
 * (default 0.95) or a global `reduction` of learnables, solved by bisection on one explained-variance threshold shared
 * by all layers (the largest threshold that meets the goal, so every layer keeps as much signal as the goal allows).
 */
export async function projectModel(model: tf.LayersModel, calib: Dataset | null, opts: ProjectOptions = {}): Promise<ProjectionResult> {
  if (opts.variance !== undefined && opts.reduction !== undefined) throw new InputError('give either variance (per layer) or reduction (global), not both');
  if (opts.variance !== undefined && !(opts.variance > 0 && opts.variance <= 1)) throw new InputError(`variance must be in (0, 1], e.g. 0.95 (got ${opts.variance})`);
  if (opts.reduction !== undefined && !(opts.reduction > 0 && opts.reduction < 1)) throw new InputError(`reduction must be in (0, 1), e.g. 0.6 to remove 60 % of the learnables (got ${opts.reduction})`);
  const minK = Math.max(1, Math.floor(opts.minK ?? 1));
  let spectra = opts.spectra;
  if (!spectra) {
    if (!calib) throw new InputError('projectModel needs calibration data (a Dataset, e.g. data.train) or precomputed spectra');
    const stats = await collectInputStats(model, calib, opts);
    spectra = [];
    // One eigen-decomposition per layer, O(dim³): report each, and let an interrupt stop between layers.
    for (const st of stats) {
      throwIfAborted(opts.signal, 'projection interrupted during the eigen-decompositions; run it again');
      opts.onProgress?.({ task: 'eigen', done: spectra.length, total: stats.length, message: `eigen-decomposition of '${st.layer}' (${st.dim}×${st.dim})` });
      await new Promise<void>((r) => setImmediate(r));
      spectra.push(layerSpectrum(st));
    }
  }
  if (!spectra.length) throw new InputError(`model '${model.name}' has no Dense or Conv2D layer to project (or all inputs are wider than maxDim)`);
  const before = learnableCount(model);
  let threshold: number;
  let plan: LayerProjection[];
  if (opts.reduction !== undefined) {
    const target = (1 - opts.reduction) * before;
    const lowest = planAt(model, spectra, 0, minK);
    if (totalAfter(before, lowest) > target) {
      const best = 1 - totalAfter(before, lowest) / before;
      throw new InputError(
        `projection can remove at most ${(100 * best).toFixed(1)} % of the learnables of '${model.name}' (asked ${(100 * opts.reduction).toFixed(1)} %): ` +
          `lower the reduction goal, or combine with %prune --filters`,
      );
    }
    let lo = 0, hi = 1; // lo meets the goal; find the largest threshold that still does
    if (totalAfter(before, planAt(model, spectra, 1, minK)) <= target) lo = 1;
    else {
      for (let it = 0; it < 40; it++) {
        const mid = (lo + hi) / 2;
        if (totalAfter(before, planAt(model, spectra, mid, minK)) <= target) lo = mid;
        else hi = mid;
      }
    }
    threshold = lo;
    plan = planAt(model, spectra, lo, minK);
  } else {
    threshold = opts.variance ?? 0.95;
    plan = planAt(model, spectra, threshold, minK);
  }
  const projected = buildProjected(model, spectra, plan);
  const after = learnableCount(projected);
  return {
    model: projected,
    layers: plan,
    learnablesBefore: before,
    learnablesAfter: after,
    reduction: 1 - after / before,
    goal: opts.reduction !== undefined ? { reduction: opts.reduction } : { variance: threshold },
    threshold,
    spectra,
  };
}
