/**
 * The Bayesian optimizer's GP priors: the noise prior keeps a deterministic function's fit nearly interpolating (the
 * weak prior let 6-D Hartmann at a handful of points be "explained" as noise) while real noise is still fitted, and the
 * per-column length-scale priors (one-hot columns get their own) enter the likelihood gradient.
 */
import { mulberry32 } from '../../src/common/rng';
import { hartmann6 } from '../../src/sweep/benchmarks';
import { sobol } from '../../src/sweep/design';
import { GaussianProcess } from '../../src/sweep/gp';
import { finiteDifferences } from '../helpers/numeric';
import { SearchSpace } from '../../src/sweep/space';

const NOISE_PRIOR: [number, number] = [Math.log(0.01), 1];

describe('GP priors', () => {
  test('the likelihood gradient with per-column length priors and the noise prior matches finite differences', () => {
    const rng = mulberry32(5);
    const X = Array.from({ length: 10 }, () => [rng(), rng(), rng()]);
    const y = X.map((x) => Math.cos(4 * x[0]) + x[2]);
    const gp = new GaussianProcess(X, y, { lengthPrior: [[3, 6], [2, 1], [5, 2]], noisePrior: NOISE_PRIOR });
    const theta = [Math.log(0.4), Math.log(1.3), Math.log(0.8), Math.log(0.9), Math.log(0.02)];
    const { g } = gp.negLogPosterior(theta);
    const fd = finiteDifferences((t) => gp.negLogPosterior(t).f, theta);
    for (let i = 0; i < theta.length; i++) expect(g[i]).toBeCloseTo(fd[i], 4);
  });

  test('deterministic Hartmann6 at 8 points: nearly interpolating with the noise prior, not with the weak one', () => {
    const X = sobol(8, 6, mulberry32(11));
    const y = X.map((x) => hartmann6(x));
    const std = (o: ConstructorParameters<typeof GaussianProcess>[2]) => {
      const gp = new GaussianProcess(X, y, { restarts: 3, ...o }).fit(mulberry32(2));
      return gp.noiseSd / gp.yStd;
    };
    const weak = std({});
    const withPrior = std({ noisePrior: NOISE_PRIOR });
    expect(withPrior).toBeLessThan(0.1);
    expect(withPrior).toBeLessThan(weak / 3);
  });

  test('real noise is still fitted under the noise prior', () => {
    const rng = mulberry32(8);
    const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
    const X = Array.from({ length: 40 }, () => [rng(), rng()]);
    const sd = 0.3;
    const y = X.map((x) => Math.sin(3 * x[0]) + x[1] + sd * gauss());
    const gp = new GaussianProcess(X, y, { restarts: 2, noisePrior: NOISE_PRIOR }).fit(mulberry32(3));
    expect(gp.noiseSd).toBeGreaterThan(sd / 2);
    expect(gp.noiseSd).toBeLessThan(sd * 2);
  });
});

describe('one-hot columns', () => {
  test('choiceMask marks exactly the columns of choices', () => {
    const s = new SearchSpace({ lr: { type: 'loguniform', low: 1e-4, high: 1e-1 }, act: { type: 'choice', values: ['a', 'b', 'c'] }, n: { type: 'int', low: 1, high: 4 }, e: { type: 'fixed', value: 3 } });
    expect(s.choiceMask()).toEqual([false, true, true, true, false]);
  });
});
