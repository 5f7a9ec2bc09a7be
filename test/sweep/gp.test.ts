/** The GP against an independent numpy computation, its likelihood gradient against finite differences, and the designs. */
import { execFileSync } from 'child_process';
import { mulberry32 } from '../../src/common/rng';
import { lhs, sobol } from '../../src/sweep/design';
import { GaussianProcess } from '../../src/sweep/gp';
import { finiteDifferences } from '../helpers/numeric';
import { erfc, logExpectedImprovement, normCdf, normPdf } from '../../src/sweep/stats';

describe('Gaussian process', () => {
  const rng = mulberry32(7);
  const X = Array.from({ length: 12 }, () => [rng(), rng(), rng()]);
  const y = X.map((x) => Math.sin(5 * x[0]) + x[1] * x[1] - 0.3 * x[2]);
  const Xs = Array.from({ length: 5 }, () => [rng(), rng(), rng()]);
  const theta = [Math.log(0.3), Math.log(0.7), Math.log(1.5), Math.log(1.2), Math.log(0.05)];

  test('posterior mean and sd match numpy', () => {
    const gp = new GaussianProcess(X, y).setTheta(theta);
    const { mean, sd } = gp.predict(Xs);
    const py = `
import json, sys, numpy as np
d = json.load(sys.stdin); X = np.array(d['X']); y = np.array(d['y']); Xs = np.array(d['Xs']); t = np.array(d['theta'])
ell = np.exp(t[:3]); sf2 = np.exp(2*t[3]); sn2 = np.exp(2*t[4])
m, s = y.mean(), y.std(ddof=1); ys = (y - m)/s
def k(A, B):
    r = np.sqrt((((A[:, None, :] - B[None, :, :]) / ell) ** 2).sum(-1))
    return sf2 * (1 + np.sqrt(5)*r + 5*r**2/3) * np.exp(-np.sqrt(5)*r)
K = k(X, X) + (sn2 + 1e-8*sf2) * np.eye(len(X))
Ks = k(X, Xs)
mu = m + s * Ks.T @ np.linalg.solve(K, ys)
var = sf2 - (Ks * np.linalg.solve(K, Ks)).sum(0)
print(json.dumps({'mean': mu.tolist(), 'sd': (np.sqrt(var)*s).tolist()}))
`;
    const ref = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify({ X, y, Xs, theta }) }).toString());
    for (let i = 0; i < Xs.length; i++) {
      expect(mean[i]).toBeCloseTo(ref.mean[i], 8);
      expect(sd[i]).toBeCloseTo(ref.sd[i], 7);
    }
  });

  test('likelihood gradient matches finite differences; fitting raises the posterior', () => {
    const gp = new GaussianProcess(X, y);
    const { f, g } = gp.negLogPosterior(theta);
    const fd = finiteDifferences((t) => gp.negLogPosterior(t).f, theta);
    for (let i = 0; i < theta.length; i++) expect(g[i]).toBeCloseTo(fd[i], 4);
    gp.fit(mulberry32(1));
    expect(gp.negLogPosterior(gp.theta).f).toBeLessThan(f);
    // a noise-free smooth function: the fitted GP nearly interpolates and predicts held-out points well
    const { mean } = gp.predict(Xs);
    const err = Xs.reduce((a, x, i) => a + Math.abs(mean[i] - (Math.sin(5 * x[0]) + x[1] * x[1] - 0.3 * x[2])), 0) / Xs.length;
    const ym = y.reduce((a, b) => a + b, 0) / y.length;
    const spread = y.reduce((a, b) => a + Math.abs(b - ym), 0) / y.length;
    expect(err).toBeLessThan(0.5 * spread);
  });

  test('normal helpers and expected improvement', () => {
    expect(erfc(0)).toBeCloseTo(1, 7);
    expect(normCdf(1.959963984540054)).toBeCloseTo(0.975, 6);
    expect(normPdf(0)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 12);
    // EI at mu = best, sd = 1 is φ(0)
    expect(Math.exp(logExpectedImprovement(0, 1, 0))).toBeCloseTo(normPdf(0), 6);
    // monotone in the tail and finite where EI underflows
    expect(logExpectedImprovement(50, 1, 0)).toBeLessThan(logExpectedImprovement(40, 1, 0));
    expect(Number.isFinite(logExpectedImprovement(100, 1, 0))).toBe(true);
  });
});

describe('initial designs', () => {
  test('Sobol points stratify every axis and every pair of axes', () => {
    const pts = sobol(64, 7, mulberry32(3));
    for (let d = 0; d < 7; d++) {
      const bins = new Set(pts.map((p) => Math.floor(p[d] * 64)));
      expect(bins.size).toBe(64);
    }
    // (t, s)-net property on pairs of the first dims: 8x8 cells each hold one point
    for (const [a, b] of [[0, 1], [1, 2], [2, 3]]) {
      const cells = new Set(pts.map((p) => `${Math.floor(p[a] * 8)},${Math.floor(p[b] * 8)}`));
      expect(cells.size).toBe(64);
    }
  });

  test('Latin hypercube has one point per stratum', () => {
    const pts = lhs(20, 5, mulberry32(9));
    for (let d = 0; d < 5; d++) expect(new Set(pts.map((p) => Math.floor(p[d] * 20))).size).toBe(20);
  });
});
