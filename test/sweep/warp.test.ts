import { warpY } from '../../src/sweep/optimizers';

describe('output warping of the Bayesian optimizer', () => {
  test('right-skewed values are log-warped, order kept', () => {
    const y = [0.5, 0.7, 1, 2, 3, 300];
    const w = warpY(y);
    expect(w).not.toEqual(y);
    for (let i = 1; i < y.length; i++) expect(w[i]).toBeGreaterThan(w[i - 1]);
    // the tail is compressed: the outlier sits far closer to the rest than before
    expect((w[5] - w[4]) / (w[4] - w[0])).toBeLessThan((y[5] - y[4]) / (y[4] - y[0]));
  });
  test('symmetric or left-skewed values are left alone', () => {
    expect(warpY([1, 2, 3, 4, 5])).toEqual([1, 2, 3, 4, 5]);
    const h = [-3, -0.2, -0.1, -0.05, 0];
    expect(warpY(h)).toEqual(h);
  });
});
