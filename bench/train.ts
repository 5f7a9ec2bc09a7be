/**
 * npm run bench:train — training and inference speed per backend for the four benchmark models, in one run:
 *   MNIST CNN (28x28x1), DS-CNN (49x10x1), ResNet-8 (32x32x3), dense autoencoder (640 inputs).
 * Per model and backend: training samples/s (batch 64, Adam, through train()), inference samples/s (batch 256,
 * through predict()), batch-1 latency; the WASM/cpu ratios; and, when /usr/bin/python3 has torch, the same models in
 * single-threaded PyTorch (bench/torch_train.py) and the WASM/PyTorch ratios.
 *
 * The machine is shared, so every figure is measured twice: per wall-clock second and per CPU second of this
 * process (process.cpuUsage; Python: time.process_time). Ratios use CPU seconds. Contention still inflates CPU time
 * (shared caches and memory bandwidth; PyTorch's per-step CPU time varied 3x between runs here), so the fast backends
 * and PyTorch are measured in BENCH_ROUNDS interleaved rounds (wasm model A, PyTorch model A, wasm model B, …) and
 * each side reports its best round: contention only ever slows a round down. The cpu backend runs as many rounds
 * (best of them too), so the WASM/cpu ratio compares like with like.
 * Env: BENCH_BUDGET (seconds per measurement, default 3), BENCH_BACKENDS (default "wasm,cpu"), BENCH_MODELS (subset),
 * BENCH_ROUNDS (default 2), BENCH_TORCH=0 to skip PyTorch, BENCH_CEILING=0 to skip the ceiling table,
 * BENCH_FASTPATH=0 to train dense-chain models (the autoencoder) through the generic path instead of the fused
 * dense-chain step (src/train/dense-chain.ts), for before/after comparisons under the same load. Each model's JSON
 * figures say which path its training steps took (trainPath).
 *
 * Ceiling table (last section): GMAC/s per CPU second of the convolutions that dominate the conv models, forward
 * (XNNPACK) and both gradients (our kernels), next to PyTorch's (bench/torch_train.py ... ceiling), interleaved in
 * BENCH_ROUNDS rounds, best of each. It is the measured bound for "WASM/PyTorch ≥ 0.8" on conv-heavy models: a model
 * whose step is mostly these convolutions cannot beat the ratio of these rates.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, BackendName } from '../src/backend';
import { Dataset } from '../src/data/types';
import { buildAutoencoder, buildCnn, buildDsCnn, buildResNet8 } from '../src/models';
import { denseChainStepsRun, forward, predict, train } from '../src/train';
import { mulberry32, normal } from '../src/common/rng';

const BUDGET = Number(process.env.BENCH_BUDGET ?? 3);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'wasm,cpu').split(',') as BackendName[];
/** Optional subset, e.g. BENCH_MODELS=mnist-cnn,autoencoder (the cpu backend needs minutes per ResNet-8 batch). */
const ONLY = process.env.BENCH_MODELS?.split(',');
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 2));
const FAST_PATH = process.env.BENCH_FASTPATH !== '0';

interface ModelSpec {
  name: string;
  build: () => tf.LayersModel;
  shape: number[];
  classes: number;
}

const MODELS: ModelSpec[] = [
  { name: 'mnist-cnn', build: () => buildCnn({ inputShape: [28, 28, 1], numClasses: 10, filters: 16, depth: 2, dense: 64, seed: 1 }), shape: [28, 28, 1], classes: 10 },
  { name: 'ds-cnn', build: () => buildDsCnn({ seed: 1 }), shape: [49, 10, 1], classes: 12 },
  { name: 'resnet8', build: () => buildResNet8({ seed: 1 }), shape: [32, 32, 3], classes: 10 },
  { name: 'autoencoder', build: () => buildAutoencoder({ seed: 1 }), shape: [640], classes: 0 },
];

interface Figures {
  trainSamplesPerSec: number;
  trainSamplesPerCpuSec: number;
  inferSamplesPerSec: number;
  inferSamplesPerCpuSec: number;
  latencyMs: number;
  latencyCpuMs: number;
  trainBatches: number;
  inferBatch?: number;
  /** 'dense-chain' when the measured training steps took the fused dense-chain step, else 'generic'. */
  trainPath?: string;
}

function randomDataset(spec: ModelSpec, n: number, seed: number): Dataset {
  const f = spec.shape.reduce((a, b) => a * b, 1);
  const rng = mulberry32(seed);
  const x = new Float32Array(n * f);
  for (let i = 0; i < x.length; i++) x[i] = normal(rng);
  const y = spec.classes ? Int32Array.from({ length: n }, (_, i) => i % spec.classes) : new Int32Array(0);
  return { x, y, sampleShape: spec.shape, numClasses: spec.classes, classNames: [], name: spec.name };
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

async function timedTrain(
  model: tf.LayersModel,
  data: Dataset,
  budgetS: number,
  epochs = 1000,
  minBatches = 1,
): Promise<{ batches: number; wall: number; cpu: number; fused: number }> {
  // Stop after the budget, but not before minBatches (fewer samples = more noise on a shared machine).
  const ac = new AbortController();
  let timeUp = false;
  const timer = setTimeout(() => (timeUp = true), budgetS * 1000);
  const fused0 = denseChainStepsRun();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await train(model, { train: data }, {
    epochs, batchSize: 64, optimizer: 'adam', learningRate: 1e-3, signal: ac.signal, restoreBest: false, seed: 1,
    progressIntervalMs: 0, fastPath: FAST_PATH,
    onProgress: (e) => {
      if (timeUp && e.done >= minBatches) ac.abort();
    },
  });
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuMs(process.cpuUsage(c0)) / 1000;
  clearTimeout(timer);
  return { batches: r.batchesRun, wall, cpu, fused: denseChainStepsRun() - fused0 };
}

async function measure(spec: ModelSpec): Promise<Figures> {
  const model = spec.build();
  const data = randomDataset(spec, 64 * 8, 7);
  // Warm-up: kernel setup, WASM heap growth, V8 optimising our JS kernels. Three batches (one epoch of 192
  // samples), cut short after half the budget on slow backends (at least one batch always runs).
  const f = spec.shape.reduce((a, b) => a * b, 1);
  // The cpu backend needs up to minutes per batch: no warm-up there, and inference at batch 64 (reported as such).
  const slow = tf.getBackend() === 'cpu';
  if (!slow) await timedTrain(model, { ...data, x: data.x.subarray(0, 192 * f), y: data.y.subarray(0, spec.classes ? 192 : 0) }, BUDGET / 2, 1);
  const tr = await timedTrain(model, data, BUDGET, 1000, slow ? 1 : 6);
  const inferBatch = slow ? 64 : 256;
  const inferData = randomDataset(spec, inferBatch, 8);
  if (!slow) predict(model, { x: inferData.x.subarray(0, inferData.x.length / 32), sampleShape: spec.shape }, 256); // warm-up
  let n = 0;
  let c0 = process.cpuUsage();
  let t0 = performance.now();
  while (n < 1 || performance.now() - t0 < (BUDGET * 1000) / 2) {
    predict(model, inferData, inferBatch);
    n++;
  }
  const inferWall = (performance.now() - t0) / 1000, inferCpu = cpuMs(process.cpuUsage(c0)) / 1000;
  const inferN = n;
  const one = tf.tensor(inferData.x.subarray(0, f), [1, ...spec.shape]);
  // The output tensor leaves tidy and is read outside it: tidy walks a returned typed array element by element.
  const once = () => {
    const out = tf.tidy(() => forward(model, one, false).output);
    out.dataSync();
    out.dispose();
  };
  once();
  n = 0;
  c0 = process.cpuUsage();
  t0 = performance.now();
  while (n < (slow ? 2 : 10) || performance.now() - t0 < (BUDGET * 1000) / 4) {
    once();
    n++;
  }
  const latWall = (performance.now() - t0) / n, latCpu = cpuMs(process.cpuUsage(c0)) / n;
  one.dispose();
  model.dispose();
  return {
    trainSamplesPerSec: (64 * tr.batches) / tr.wall,
    trainSamplesPerCpuSec: (64 * tr.batches) / tr.cpu,
    inferSamplesPerSec: (inferBatch * inferN) / inferWall,
    inferSamplesPerCpuSec: (inferBatch * inferN) / inferCpu,
    inferBatch,
    latencyMs: latWall,
    latencyCpuMs: latCpu,
    trainBatches: tr.batches,
    trainPath: tr.fused === tr.batches ? 'dense-chain' : tr.fused === 0 ? 'generic' : 'mixed',
  };
}

type TorchResult = { torch: string; models: Record<string, Figures> } | { error: string };

/** One PyTorch measurement of the given models (a fresh single-threaded process). */
function runTorch(models: string[]): TorchResult {
  if (process.env.BENCH_TORCH === '0') return { error: 'skipped (BENCH_TORCH=0)' };
  const script = path.join(__dirname, '..', '..', 'bench', 'torch_train.py');
  const r = spawnSync('/usr/bin/python3', [script, String(BUDGET), models.join(',')], { encoding: 'utf8', timeout: 600000 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last);
  } catch {
    return { error: `PyTorch not available (${(r.stderr ?? r.error?.message ?? '').trim().split('\n').pop()}); install python3-torch` };
  }
}

/** Per figure, the best (highest throughput, lowest latency) of several rounds. */
function best(rounds: Figures[]): Figures {
  const hi = (k: keyof Figures) => Math.max(...rounds.map((r) => (r[k] as number | undefined) ?? -Infinity));
  const lo = (k: keyof Figures) => Math.min(...rounds.map((r) => (r[k] as number | undefined) ?? Infinity));
  return {
    trainSamplesPerSec: hi('trainSamplesPerSec'),
    trainSamplesPerCpuSec: hi('trainSamplesPerCpuSec'),
    inferSamplesPerSec: hi('inferSamplesPerSec'),
    inferSamplesPerCpuSec: hi('inferSamplesPerCpuSec'),
    latencyMs: lo('latencyMs'),
    latencyCpuMs: lo('latencyCpuMs'),
    trainBatches: rounds.reduce((a, r) => a + r.trainBatches, 0),
    inferBatch: rounds[0].inferBatch,
    trainPath: rounds.every((r) => r.trainPath === rounds[0].trainPath) ? rounds[0].trainPath : 'mixed',
  };
}

// ---- ceiling: GMAC/s of the dominant convolutions, WASM (XNNPACK SIMD128 + our gradient kernels) vs PyTorch ----------
interface ConvShape { name: string; n: number; h: number; w: number; ci: number; co: number; k: number; s: number; pad: number }
/** The convolutions that dominate the bench models' training steps (batch 64, NHWC, symmetric padding). */
const CEILING_SHAPES: ConvShape[] = [
  { name: 'resnet8 3x3 16->16 @32x32', n: 64, h: 32, w: 32, ci: 16, co: 16, k: 3, s: 1, pad: 1 },
  { name: 'resnet8 3x3 32->32 @16x16', n: 64, h: 16, w: 16, ci: 32, co: 32, k: 3, s: 1, pad: 1 },
  { name: 'resnet8 3x3 64->64 @8x8', n: 64, h: 8, w: 8, ci: 64, co: 64, k: 3, s: 1, pad: 1 },
  { name: 'mnist 3x3 16->32 @13x13', n: 64, h: 13, w: 13, ci: 16, co: 32, k: 3, s: 1, pad: 1 },
  { name: 'ds-cnn 1x1 64->64 @25x5', n: 64, h: 25, w: 5, ci: 64, co: 64, k: 1, s: 1, pad: 0 },
];
type ConvRates = { forward: number; filterGrad: number; inputGrad: number };

/** WASM GMAC/s per CPU second for each shape: forward Conv2D, Conv2DBackpropFilter, Conv2DBackpropInput kernels. */
function wasmCeiling(budgetS: number): Record<string, ConvRates> {
  const out: Record<string, ConvRates> = {};
  for (const c of CEILING_SHAPES) {
    const x = tf.randomNormal([c.n, c.h, c.w, c.ci]);
    const f = tf.randomNormal([c.k, c.k, c.ci, c.co]);
    const y = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad);
    const dy = tf.randomNormal(y.shape);
    const macs = y.size * c.k * c.k * c.ci;
    const base = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
    const rate = (kernel: string, inputs: tf.NamedTensorMap, attrs: Record<string, unknown>) => {
      const run = () => (tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dispose();
      run(); // warm-up (operator creation, heap growth)
      let n = 0;
      const c0 = process.cpuUsage(), t0 = performance.now();
      while (n < 3 || performance.now() - t0 < budgetS * 1000) {
        run();
        n++;
      }
      return (macs * n) / (cpuMs(process.cpuUsage(c0)) / 1000) / 1e9;
    };
    out[c.name] = {
      forward: rate('Conv2D', { x, filter: f }, { ...base, dilations: 1 }),
      filterGrad: rate('Conv2DBackpropFilter', { x, dy }, { ...base, filterShape: f.shape }),
      inputGrad: rate('Conv2DBackpropInput', { dy, filter: f }, { ...base, inputShape: x.shape }),
    };
    tf.dispose([x, f, y, dy]);
  }
  return out;
}

function torchCeiling(budgetS: number): Record<string, ConvRates> | string {
  const script = path.join(__dirname, '..', '..', 'bench', 'torch_train.py');
  const r = spawnSync('/usr/bin/python3', [script, String(budgetS), 'ceiling', JSON.stringify(CEILING_SHAPES)], { encoding: 'utf8', timeout: 600000 });
  try {
    return JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? '').ceiling as Record<string, ConvRates>;
  } catch {
    return `PyTorch not available (${(r.stderr ?? '').trim().split('\n').pop()})`;
  }
}

/** Best (highest) rate per shape and kind over rounds. */
function bestRates(rounds: Array<Record<string, ConvRates>>): Record<string, ConvRates> {
  const out: Record<string, ConvRates> = {};
  for (const r of rounds) {
    for (const [k, v] of Object.entries(r)) {
      const o = (out[k] ??= { forward: 0, filterGrad: 0, inputGrad: 0 });
      o.forward = Math.max(o.forward, v.forward);
      o.filterGrad = Math.max(o.filterGrad, v.filterGrad);
      o.inputGrad = Math.max(o.inputGrad, v.inputGrad);
    }
  }
  return out;
}

const f0 = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(3));

async function main(): Promise<void> {
  const results: Record<string, Record<string, Figures>> = {};
  const infos: Record<string, string> = {};
  const models = MODELS.filter((m) => !ONLY || ONLY.includes(m.name));
  const torchRounds: Record<string, Figures[]> = {};
  let torchError: string | undefined = process.env.BENCH_TORCH === '0' ? 'skipped (BENCH_TORCH=0)' : undefined;
  let torchVersion = '';
  const torchRound = (name: string, round: number) => {
    if (torchError) return;
    const t = runTorch([name]);
    if ('error' in t) {
      torchError = t.error;
      return;
    }
    torchVersion = t.torch;
    (torchRounds[name] ??= []).push(t.models[name]);
    process.stderr.write(`pytorch ${name} round ${round + 1}: train ${f0(t.models[name].trainSamplesPerCpuSec)}/cpu-s\n`);
  };
  let torchInterleaved = false;
  for (const b of BACKENDS) {
    try {
      const info = await initBackend(b);
      infos[b] = info.reason + (info.simd !== undefined ? ` (simd ${info.simd}, threads ${info.threads})` : '');
    } catch (e) {
      infos[b] = `unavailable: ${(e as Error).message}`;
      continue;
    }
    results[b] = {};
    // PyTorch runs interleaved with the first fast backend's rounds, model by model, so both see the same load.
    const withTorch: boolean = b !== 'cpu' && !torchInterleaved;
    torchInterleaved ||= withTorch;
    const rounds = ROUNDS;
    const mine: Record<string, Figures[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const m of models) {
        const r = await measure(m);
        (mine[m.name] ??= []).push(r);
        process.stderr.write(`${b} ${m.name} round ${round + 1}: train ${f0(r.trainSamplesPerCpuSec)}/cpu-s (${r.trainBatches} batches)\n`);
        if (withTorch) torchRound(m.name, round);
      }
    }
    for (const [name, rs] of Object.entries(mine)) results[b][name] = best(rs);
  }
  if (!torchInterleaved) models.forEach((m) => torchRound(m.name, 0)); // only the cpu backend ran

  // Ceiling: per-convolution GMAC/s, wasm and PyTorch interleaved (BENCH_CEILING=0 skips).
  let ceiling: { wasm: Record<string, ConvRates>; pytorch: Record<string, ConvRates> | string } | undefined;
  if (process.env.BENCH_CEILING !== '0' && results.wasm) {
    await initBackend('wasm');
    const wr: Array<Record<string, ConvRates>> = [], pr: Array<Record<string, ConvRates>> = [];
    let torchMsg: string | undefined = process.env.BENCH_TORCH === '0' ? 'skipped (BENCH_TORCH=0)' : undefined;
    for (let round = 0; round < ROUNDS; round++) {
      wr.push(wasmCeiling(BUDGET / 6));
      if (!torchMsg) {
        const t = torchCeiling(BUDGET / 6);
        if (typeof t === 'string') torchMsg = t;
        else pr.push(t);
      }
      process.stderr.write(`ceiling round ${round + 1} done\n`);
    }
    ceiling = { wasm: bestRates(wr), pytorch: pr.length ? bestRates(pr) : (torchMsg ?? 'not run') };
  }
  const torchModels: Record<string, Figures> | undefined = Object.keys(torchRounds).length
    ? Object.fromEntries(Object.entries(torchRounds).map(([k, rs]) => [k, best(rs)]))
    : undefined;
  const torch: TorchResult = torchModels ? { torch: torchVersion, models: torchModels } : { error: torchError ?? 'not run' };

  const head = ['model', 'backend', 'train/s', 'train/cpu-s', 'infer/s', 'infer/cpu-s', 'b1 ms', 'b1 cpu-ms'];
  const rows: string[][] = [];
  for (const m of MODELS) {
    for (const b of Object.keys(results)) {
      const r = results[b][m.name];
      if (!r) continue;
      rows.push([m.name, b, f0(r.trainSamplesPerSec), f0(r.trainSamplesPerCpuSec), f0(r.inferSamplesPerSec), f0(r.inferSamplesPerCpuSec), f0(r.latencyMs), f0(r.latencyCpuMs)]);
    }
    if (torchModels?.[m.name]) {
      const r = torchModels[m.name];
      rows.push([m.name, 'pytorch-1t', f0(r.trainSamplesPerSec), f0(r.trainSamplesPerCpuSec), f0(r.inferSamplesPerSec), f0(r.inferSamplesPerCpuSec), f0(r.latencyMs), f0(r.latencyCpuMs)]);
    }
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(`Training engine benchmark (batch 64 Adam training; inference at batch 256, 64 on the cpu backend; batch-1 latency; best of ${ROUNDS} rounds per backend, wasm and PyTorch interleaved)`);
  for (const [b, why] of Object.entries(infos)) console.log(`  ${b}: ${why}`);
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  rows.forEach((r) => console.log(line(r)));

  const ratios: Record<string, Record<string, number>> = {};
  console.log('\nRatios (per CPU second)        train wasm/cpu  infer wasm/cpu  train wasm/pytorch  infer wasm/pytorch');
  for (const m of MODELS) {
    const wv = results.wasm?.[m.name], cv = results.cpu?.[m.name], pv = torchModels?.[m.name];
    const rr: Record<string, number> = {};
    if (wv && cv) {
      rr.trainWasmOverCpu = wv.trainSamplesPerCpuSec / cv.trainSamplesPerCpuSec;
      rr.inferWasmOverCpu = wv.inferSamplesPerCpuSec / cv.inferSamplesPerCpuSec;
    }
    if (wv && pv) {
      rr.trainWasmOverPytorch = wv.trainSamplesPerCpuSec / pv.trainSamplesPerCpuSec;
      rr.inferWasmOverPytorch = wv.inferSamplesPerCpuSec / pv.inferSamplesPerCpuSec;
    }
    ratios[m.name] = rr;
    console.log(
      `  ${m.name.padEnd(28)} ${f0(rr.trainWasmOverCpu).padStart(14)}  ${f0(rr.inferWasmOverCpu).padStart(14)}  ${f0(rr.trainWasmOverPytorch).padStart(18)}  ${f0(rr.inferWasmOverPytorch).padStart(18)}`,
    );
  }
  if ('error' in torch) console.log(`  PyTorch: ${torch.error}`);
  if (ceiling) {
    console.log(`\nCeiling: single convolutions, batch 64, GMAC/s per CPU second (wasm: XNNPACK SIMD128 forward + tinylab gradient kernels; PyTorch: 1 thread)`);
    const p = typeof ceiling.pytorch === 'string' ? undefined : ceiling.pytorch;
    console.log(`  ${'convolution'.padEnd(26)} ${'wasm fwd'.padStart(9)} ${'dW'.padStart(6)} ${'dX'.padStart(6)}   ${'torch fwd'.padStart(9)} ${'dW'.padStart(6)} ${'dX'.padStart(6)}   ${'wasm/torch fwd'.padStart(14)} ${'dW'.padStart(5)} ${'dX'.padStart(5)}`);
    for (const c of CEILING_SHAPES) {
      const wv = ceiling.wasm[c.name], pv = p?.[c.name];
      const r = (a: number, b: number | undefined) => (b ? (a / b).toFixed(2) : '-');
      console.log(
        `  ${c.name.padEnd(26)} ${wv.forward.toFixed(1).padStart(9)} ${wv.filterGrad.toFixed(1).padStart(6)} ${wv.inputGrad.toFixed(1).padStart(6)}   ` +
          `${(pv ? pv.forward.toFixed(1) : '-').padStart(9)} ${(pv ? pv.filterGrad.toFixed(1) : '-').padStart(6)} ${(pv ? pv.inputGrad.toFixed(1) : '-').padStart(6)}   ` +
          `${r(wv.forward, pv?.forward).padStart(14)} ${r(wv.filterGrad, pv?.filterGrad).padStart(5)} ${r(wv.inputGrad, pv?.inputGrad).padStart(5)}`,
      );
    }
    if (!p) console.log(`  PyTorch: ${ceiling.pytorch as string}`);
  }
  console.log(JSON.stringify({ bench: 'train', budgetSeconds: BUDGET, rounds: ROUNDS, backends: infos, results, pytorch: torch, ratios, ceiling }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
