/**
 * A small L-BFGS minimiser (two-loop recursion, backtracking Armijo line search) for the GP's smooth, low-dimensional
 * hyperparameter problem. Unconstrained: callers map bounds through a sigmoid.
 */
export interface LbfgsResult {
  x: number[];
  f: number;
  iterations: number;
}

export function lbfgsMinimize(
  fg: (x: number[]) => { f: number; g: number[] },
  x0: number[],
  opts: { maxIter?: number; memory?: number; gtol?: number } = {},
): LbfgsResult {
  const maxIter = opts.maxIter ?? 60;
  const m = opts.memory ?? 6;
  const gtol = opts.gtol ?? 1e-5;
  const n = x0.length;
  let x = x0.slice();
  let { f, g } = fg(x);
  const S: number[][] = [];
  const Y: number[][] = [];
  const dot = (a: number[], b: number[]) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  let it = 0;
  for (; it < maxIter; it++) {
    if (!Number.isFinite(f)) break;
    const gn = Math.sqrt(dot(g, g));
    if (gn < gtol) break;
    // two-loop recursion
    const q = g.slice();
    const alphas: number[] = [];
    for (let k = S.length - 1; k >= 0; k--) {
      const rho = 1 / dot(Y[k], S[k]);
      const a = rho * dot(S[k], q);
      alphas[k] = a;
      for (let i = 0; i < n; i++) q[i] -= a * Y[k][i];
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(1, gn);
    for (let i = 0; i < n; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const rho = 1 / dot(Y[k], S[k]);
      const b = rho * dot(Y[k], q);
      for (let i = 0; i < n; i++) q[i] += S[k][i] * (alphas[k] - b);
    }
    let dir = q.map((v) => -v);
    let slope = dot(dir, g);
    if (!(slope < 0)) {
      dir = g.map((v) => -v);
      slope = -gn * gn;
      S.length = 0;
      Y.length = 0;
    }
    let step = 1;
    let accepted = false;
    let xn: number[] = x;
    let fn = f;
    let gnew = g;
    for (let ls = 0; ls < 20; ls++) {
      xn = x.map((v, i) => v + step * dir[i]);
      const r = fg(xn);
      fn = r.f;
      gnew = r.g;
      if (Number.isFinite(fn) && fn <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.4;
    }
    if (!accepted) break;
    const s = xn.map((v, i) => v - x[i]);
    const y = gnew.map((v, i) => v - g[i]);
    if (dot(s, y) > 1e-12) {
      S.push(s);
      Y.push(y);
      if (S.length > m) {
        S.shift();
        Y.shift();
      }
    }
    const df = f - fn;
    x = xn;
    f = fn;
    g = gnew;
    if (df < 1e-9 * Math.max(1, Math.abs(f))) break;
  }
  return { x, f, iterations: it };
}
