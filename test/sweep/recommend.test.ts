/**
 * The Bayesian optimizer's recommendation (the sweep's reported best: the tried point with the lowest GP posterior
 * mean) against an independent numpy computation, the per-category offset kernel against numpy and finite
 * differences, and the sweep result's best-trial rule.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ExperimentStore } from '../../src/store/store';
import { mulberry32 } from '../../src/common/rng';
import { GaussianProcess } from '../../src/sweep/gp';
import { finiteDifferences } from '../helpers/numeric';
import { BayesOpt, minObserved } from '../../src/sweep/optimizers';
import type { Observation } from '../../src/sweep/optimizers';
import { SearchSpace } from '../../src/sweep/space';
import { loadSweep, sweep } from '../../src/sweep/sweep';
import { bestLine } from '../../src/sweep/display';

const py = (code: string, input: unknown): { [k: string]: number[] } =>
  JSON.parse(execFileSync('/usr/bin/python3', ['-c', code], { input: JSON.stringify(input) }).toString());

// Matérn 5/2 ARD + one offset term per one-hot group, as gp.ts documents it (written from the formulas, not the code)
const NUMPY_GP = `
import json, sys, numpy as np
def gp(d):
  X = np.array(d['X'], float); y = np.array(d['y'], float); Xs = np.array(d['Xs'], float)
  t = np.array(d['theta']); groups = d.get('groups', []); D = X.shape[1]
  ell = np.exp(t[:D]); sf2 = np.exp(2*t[D]); sn2 = np.exp(2*t[D+1]); so2 = np.exp(2*t[D+2:])
  def k(A, B):
    r = np.sqrt((((A[:, None, :] - B[None, :, :]) / ell) ** 2).sum(-1))
    K = sf2 * (1 + np.sqrt(5)*r + 5*r**2/3) * np.exp(-np.sqrt(5)*r)
    for g, cols in enumerate(groups):
      same = (np.abs(A[:, None, cols] - B[None, :, cols]).sum(-1) < 1e-9).astype(float)
      K = K + so2[g] * same
    return K
  m, s = y.mean(), y.std(ddof=1)
  if d.get('meanQuantile') is not None: m = np.sort(y)[int(np.floor(d['meanQuantile'] * (len(y) - 1) + 0.5))]  # the prior mean's centre
  ys = (y - m)/s
  K0 = k(X, X); K = K0 + (sn2 + 1e-8*max(1.0, K0[0, 0])) * np.eye(len(X))  # gp.ts's jitter: 1e-8 of the prior variance
  Ks = k(X, Xs)
  mu = m + s * Ks.T @ np.linalg.solve(K, ys)
  var = sf2 + so2.sum() - (Ks * np.linalg.solve(K, Ks)).sum(0)
  return {'mean': mu.tolist(), 'sd': (np.sqrt(var)*s).tolist()}
`;

describe('per-category offset kernel', () => {
  // 2 numeric columns + a 3-value one-hot group (columns 2..4)
  const rng = mulberry32(11);
  const onehot = (c: number) => [0, 1, 2].map((k) => (k === c ? 1 : 0));
  const X = Array.from({ length: 14 }, (_, i) => [rng(), rng(), ...onehot(i % 3)]);
  const OFF = [0, 0.5, -0.3];
  const y = X.map((x) => Math.sin(4 * x[0]) + x[1] + OFF[x.slice(2).indexOf(1)]);
  const Xs = Array.from({ length: 6 }, (_, i) => [rng(), rng(), ...onehot((i + 1) % 3)]);
  const groups = [[2, 3, 4]];
  const theta = [Math.log(0.4), Math.log(0.8), Math.log(1.5), Math.log(2), Math.log(3), Math.log(0.9), Math.log(0.05), Math.log(0.6)];

  test('posterior mean and sd match numpy', () => {
    const gp = new GaussianProcess(X, y, { groups }).setTheta(theta);
    const { mean, sd } = gp.predict(Xs);
    const ref = py(`${NUMPY_GP}\nprint(json.dumps(gp(json.load(sys.stdin))))`, { X, y, Xs, theta, groups });
    for (let i = 0; i < Xs.length; i++) {
      expect(mean[i]).toBeCloseTo(ref.mean[i], 8);
      expect(sd[i]).toBeCloseTo(ref.sd[i], 7);
    }
  });

  test('a prior mean centred on a quantile of the targets matches numpy, and far from the data it is that value', () => {
    for (const q of [1, 0.5]) {
      const gp = new GaussianProcess(X, y, { groups, meanQuantile: q }).setTheta(theta);
      const { mean } = gp.predict(Xs);
      const ref = py(`${NUMPY_GP}\nprint(json.dumps(gp(json.load(sys.stdin))))`, { X, y, Xs, theta, groups, meanQuantile: q });
      for (let i = 0; i < Xs.length; i++) expect(mean[i]).toBeCloseTo(ref.mean[i], 8);
    }
    // a point far outside the unit cube, one-hot columns included: no covariance with any training row
    const far = [50, 50, -9, -9, -9];
    const sorted = y.slice().sort((a, b) => a - b);
    expect(new GaussianProcess(X, y, { groups, meanQuantile: 1 }).setTheta(theta).predict([far]).mean[0]).toBeCloseTo(sorted[sorted.length - 1], 9);
    expect(new GaussianProcess(X, y, { groups }).setTheta(theta).predict([far]).mean[0]).toBeCloseTo(y.reduce((a, b) => a + b, 0) / y.length, 9);
  });

  test('likelihood gradient (offset sd included) matches finite differences', () => {
    const gp = new GaussianProcess(X, y, { groups });
    expect(gp.thetaSize).toBe(theta.length);
    const { g } = gp.negLogPosterior(theta);
    const fd = finiteDifferences((t) => gp.negLogPosterior(t).f, theta);
    for (let i = 0; i < theta.length; i++) expect(g[i]).toBeCloseTo(fd[i], 4);
  });
});

describe('recommendation: the tried point with the lowest GP posterior mean', () => {
  const space = new SearchSpace({ x: { type: 'uniform', low: 0, high: 1 } });
  const f = (x: number) => 4 * (x - 0.4) ** 2;
  // a noisy bowl: 16 points, seeded normal noise sd 0.05, and one far point with a lucky draw that makes it the lowest
  // observed value although its noise-free value (0.36 at x = 0.7) is far from the bowl's floor
  const rng = mulberry32(5);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const xs = Array.from({ length: 16 }, (_, i) => (i + 0.5) / 16);
  const hist: Observation[] = xs.map((x) => ({ params: { x }, value: f(x) + 0.05 * gauss(), feasible: true }));
  const floor = Math.min(...hist.map((h) => h.value as number));
  hist.push({ params: { x: 0.7 }, value: floor - 0.03, feasible: true });
  // an infeasible trial is never recommended
  hist.push({ params: { x: 0.41 }, feasible: false });

  test('picks the argmin of the posterior mean (numpy, from the fitted hyperparameters), not the lucky draw', () => {
    const opt = new BayesOpt(space, { seed: 3 });
    const rec = opt.recommendation(hist)!;
    const lucky = minObserved(hist)!;
    expect(lucky).toBe(16);
    expect(rec.candidates).toEqual(Array.from({ length: 17 }, (_, i) => i));
    // independent: warp (optimizers.ts warpY's formula, re-derived in numpy) + GP posterior mean at the tried points
    const ref = py(
      `${NUMPY_GP}
d = json.load(sys.stdin); y = np.array(d['y'])
n = len(y); m = y.mean(); m2 = ((y-m)**2).mean(); m3 = ((y-m)**3).mean()
if m2 > 0 and m3 / m2**1.5 > 0.5:
  mn = y.min(); c = max(np.sort(y)[n//2] - mn, 1e-12); y = np.log((y - mn)/c + 1)
d['y'] = y.tolist(); d['Xs'] = d['X']
print(json.dumps(gp(d)))
`,
      // the optimizer's GP centres its prior mean on the worst observed value (BayesOptions.meanQuantile's default)
      { X: rec.candidates.map((i) => [Number(hist[i].params.x)]), y: rec.candidates.map((i) => hist[i].value), theta: rec.gp!.theta, meanQuantile: 1 },
    );
    let argmin = 0;
    for (let i = 1; i < ref.mean.length; i++) if (ref.mean[i] < ref.mean[argmin]) argmin = i;
    expect(rec.index).toBe(rec.candidates[argmin]);
    for (let i = 0; i < ref.mean.length; i++) expect(rec.mean[i]).toBeCloseTo(ref.mean[i], 6);
    // the point of the rule: the lucky far draw is not the recommendation, and the recommended point is truly better
    expect(rec.index).not.toBe(lucky);
    expect(f(Number(hist[rec.index].params.x))).toBeLessThan(f(0.7));
    expect(opt.recommend(hist)).toBe(rec.index);
    // deterministic given the history (a stored sweep gives the same answer)
    expect(new BayesOpt(space, { seed: 3 }).recommend(hist)).toBe(rec.index);
  });

  test('few observations: the lowest observed; none: undefined', () => {
    const opt = new BayesOpt(space, { seed: 1 });
    expect(opt.recommend([])).toBeUndefined();
    expect(opt.recommend([{ params: { x: 0.1 }, feasible: false }])).toBeUndefined();
    expect(opt.recommend(hist.slice(0, 2))).toBe(minObserved(hist.slice(0, 2)));
  });
});

describe('sweep result: best-trial rule', () => {
  const trial = (p: Record<string, unknown>) => ({ loss: (Number(p.x) - 0.3) ** 2 });

  test('bayes reports the recommendation and says so; random reports the lowest observed', async () => {
    const b = await sweep({ space: 'x: uniform(0, 1)', objective: 'loss', trials: 8, seed: 1, store: false, trial });
    expect(b.bestRule).toBe('posterior-mean');
    const completed = b.trials.filter((t) => t.status === 'completed');
    expect(b.bestObserved!.metrics.loss).toBe(Math.min(...completed.map((t) => t.metrics.loss)));
    const opt = new BayesOpt(new SearchSpace({ x: { type: 'uniform', low: 0, high: 1 } }), { seed: 1 });
    const obs = completed.map((t) => ({ params: t.params, value: t.metrics.loss, feasible: true }));
    expect(b.best!.index).toBe(completed[opt.recommend(obs)!].index);
    expect(bestLine(b)).toMatch(/best by GP posterior mean at the tried points/);
    const r = await sweep({ space: 'x: uniform(0, 1)', objective: 'loss', trials: 8, seed: 1, store: false, optimizer: 'random', trial });
    expect(r.bestRule).toBe('min-observed');
    expect(r.best!.index).toBe(r.bestObserved!.index);
    expect(bestLine(r)).not.toMatch(/posterior/);
  });
});

test('loadSweep: the stored recommendation, recomputed the same way when it is missing or stale', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinylab-rec-'));
  try {
    const file = path.join(tmp, 's.sqlite');
    // a noisy 2-D objective (seeded per trial), maximised: the negation must be applied the same way both times
    const r = await sweep({
      space: 'x: uniform(0, 1)\nk: choice(a, b)',
      objective: 'acc',
      direction: 'maximize',
      trials: 12,
      seed: 4,
      name: 'noisy',
      store: file,
      trial: (p, _s, ctx) => ({ acc: 1 - (Number(p.x) - 0.6) ** 2 - (p.k === 'a' ? 0.1 : 0) + 0.02 * (mulberry32(ctx.seed)() - 0.5) }),
    });
    expect(r.bestRule).toBe('posterior-mean');
    const loaded = loadSweep('noisy', file);
    expect(loaded.best!.index).toBe(r.best!.index);
    expect(loaded.bestRule).toBe('posterior-mean');
    expect(loaded.bestObserved!.index).toBe(r.bestObserved!.index);
    // drop the stored recommendation: a bayes sweep recomputes it (deterministic given trials and seed)
    const store = new ExperimentStore(file);
    const row = store.getSweep('noisy')!;
    const { recommended, ...rest } = row.config;
    expect(recommended).toBeDefined();
    store.updateSweepConfig(row.id, rest);
    expect(loadSweep('noisy', store).best!.index).toBe(r.best!.index);
    store.close();
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
