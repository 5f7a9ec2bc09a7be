/**
 * Gaussian-process regression for the Bayesian optimizer: Matérn 5/2 kernel with automatic relevance determination
 * (one length scale per encoded input), optionally plus a per-category offset term for each choice parameter's one-hot
 * columns (k += σ_g²·[same category]), fitted noise, hyperparameters by maximising the log marginal likelihood plus
 * log-priors (MAP, multi-start L-BFGS on box-bounded log parameters). Linear algebra (Cholesky, solves, products)
 * is ml-matrix's; this file only builds kernel matrices and the likelihood gradient.
 *
 * Inputs are expected in the unit cube; targets are standardised internally (centred on their average, or on a quantile
 * with `meanQuantile`, sd 1: the centre is the prior mean far from the data) and predictions come back in the caller's
 * units. `predict` returns the latent function's mean and standard deviation (noise excluded).
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { Rng } from '../common/rng';
import { lbfgsMinimize } from './lbfgs';

const SQRT5 = Math.sqrt(5);
const LOG2PI = Math.log(2 * Math.PI);

export interface GpOptions {
  /** Bounds on length scales (unit-cube inputs). */
  lengthBounds?: [number, number];
  /** Bounds on the signal sd (standardised targets). */
  signalBounds?: [number, number];
  /** Bounds on the noise sd (standardised targets); equal bounds fix the noise. */
  noiseBounds?: [number, number];
  /** Random restarts of the likelihood optimisation besides the warm start and the default start. */
  restarts?: number;
  /** L-BFGS iterations per start. */
  maxIter?: number;
  /** Gamma(shape, rate) prior on each length scale (default [3, 6]: mode 1/3 of the unit cube), or one per input. */
  lengthPrior?: [number, number] | Array<[number, number]>;
  /** Normal prior on log noise sd (standardised units): [mean, sd]; default: the weak exponential pull below. */
  noisePrior?: [number, number];
  /**
   * One-hot column groups (one per choice parameter): each adds a per-category offset term σ_g²·[same category] to
   * the kernel, with its own fitted sd (theta after the noise): categories can then share the shape learned in the
   * numeric inputs and differ by a constant (why: optimizers.ts, `categoryOffsets`).
   */
  groups?: number[][];
  /** Normal prior [mean, sd] on each log offset sd (standardised units; default [ln 0.3, 1]). */
  offsetPrior?: [number, number];
  /** Prior (constant) mean as a quantile of the targets (0.5 the median, 1 the worst); default: their average. */
  meanQuantile?: number;
}

/** log length scales (D), log signal sd, log noise sd, then one log offset sd per one-hot group (if any). */
export type GpTheta = number[];

export class GaussianProcess {
  readonly n: number;
  readonly dim: number;
  theta: GpTheta;
  /** Standardisation of y. */
  readonly yMean: number;
  readonly yStd: number;
  private readonly X: Float64Array[];
  private readonly ys: Float64Array;
  private readonly diff2: Float64Array[];
  private readonly groups: number[][];
  /** Per group: 1 where two training rows share the category, else 0 (n × n). */
  private readonly same: Float64Array[];
  private readonly lo: number[];
  private readonly hi: number[];
  private alpha!: Matrix;
  private kinv!: Matrix;
  logMarginal = -Infinity;

  constructor(X: ArrayLike<number>[], y: ArrayLike<number>, private readonly opts: GpOptions = {}) {
    this.n = X.length;
    this.dim = this.n > 0 ? X[0].length : 0;
    this.X = X.map((r) => Float64Array.from(r));
    let m = 0;
    for (let i = 0; i < this.n; i++) m += y[i];
    m /= Math.max(1, this.n);
    const avg = m;
    if (opts.meanQuantile !== undefined && this.n > 0) {
      const s = Array.from(y).sort((a, b) => a - b);
      m = s[Math.min(this.n - 1, Math.max(0, Math.round(opts.meanQuantile * (this.n - 1))))];
    }
    let v = 0;
    for (let i = 0; i < this.n; i++) v += (y[i] - avg) ** 2;
    const sd = this.n > 1 ? Math.sqrt(v / (this.n - 1)) : 1;
    this.yMean = m;
    this.yStd = sd > 1e-12 ? sd : 1;
    this.ys = new Float64Array(this.n);
    for (let i = 0; i < this.n; i++) this.ys[i] = (y[i] - m) / this.yStd;
    const n = this.n;
    this.diff2 = [];
    for (let d = 0; d < this.dim; d++) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = i + 1; j < n; j++) {
          const t = (this.X[i][d] - this.X[j][d]) ** 2;
          a[i * n + j] = t;
          a[j * n + i] = t;
        }
      this.diff2.push(a);
    }
    this.groups = opts.groups ?? [];
    this.same = this.groups.map((cols) => {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = sameCategory(this.X[i], this.X[j], cols);
      return a;
    });
    const lb = opts.lengthBounds ?? [0.02, 20];
    const sb = opts.signalBounds ?? [0.05, 20];
    const nb = opts.noiseBounds ?? [1e-3, 1.5];
    const P = this.groups.length;
    this.lo = [...new Array<number>(this.dim).fill(Math.log(lb[0])), Math.log(sb[0]), Math.log(nb[0]), ...new Array<number>(P).fill(Math.log(OFFSET_BOUNDS[0]))];
    this.hi = [...new Array<number>(this.dim).fill(Math.log(lb[1])), Math.log(sb[1]), Math.log(nb[1]), ...new Array<number>(P).fill(Math.log(OFFSET_BOUNDS[1]))];
    this.theta = this.defaultTheta();
  }

  defaultTheta(): GpTheta {
    return this.clampTheta([...new Array<number>(this.dim).fill(Math.log(0.4)), 0, Math.log(0.05), ...this.groups.map(() => (this.opts.offsetPrior ?? OFFSET_PRIOR)[0])]);
  }

  clampTheta(t: GpTheta): GpTheta {
    return t.map((v, i) => Math.min(this.hi[i], Math.max(this.lo[i], v)));
  }

  /** Length of theta: D length scales, signal, noise, one offset per group. */
  get thetaSize(): number {
    return this.dim + 2 + this.groups.length;
  }

  /** Noise sd in the caller's units. */
  get noiseSd(): number {
    return Math.exp(this.theta[this.dim + 1]) * this.yStd;
  }

  get lengthScales(): number[] {
    return this.theta.slice(0, this.dim).map(Math.exp);
  }

  /**
   * Log prior on the log parameters (and its gradient): Gamma(3, 6) on each length scale unless told otherwise (mode
   * 1/3 of the unit cube, as in BoTorch, so a handful of points does not produce wiggly fits), log-normal on the signal
   * sd around 1, and on the noise either the given log-normal (noisePrior; the Bayesian optimizer's default) or a weak
   * pull towards small values.
   */
  private logPrior(t: GpTheta, grad: number[]): number {
    let lp = 0;
    const lpOpt = this.opts.lengthPrior ?? [3, 6];
    for (let d = 0; d < this.dim; d++) {
      const [ka, kb] = typeof lpOpt[0] === 'number' ? (lpOpt as [number, number]) : (lpOpt as Array<[number, number]>)[d];
      const l = Math.exp(t[d]);
      lp += ka * t[d] - kb * l;
      grad[d] += ka - kb * l;
    }
    const s = t[this.dim];
    lp += -0.5 * (s / 1.0) ** 2;
    grad[this.dim] += -s;
    const [om, os] = this.opts.offsetPrior ?? OFFSET_PRIOR;
    for (let g = 0; g < this.groups.length; g++) {
      const k = this.dim + 2 + g;
      lp += -0.5 * ((t[k] - om) / os) ** 2;
      grad[k] += -(t[k] - om) / (os * os);
    }
    const z = t[this.dim + 1];
    if (this.opts.noisePrior) {
      const [nm, ns] = this.opts.noisePrior;
      lp += -0.5 * ((z - nm) / ns) ** 2;
      grad[this.dim + 1] += -(z - nm) / (ns * ns);
      return lp;
    }
    // Gamma(1.1, 0.05)-like on the noise variance is nearly flat; a mild exponential keeps it off the upper bound.
    const nv = Math.exp(2 * z);
    lp += 2 * 1.1 * z - 0.05 * nv * 20;
    grad[this.dim + 1] += 2 * 1.1 - 2 * nv;
    return lp;
  }

  /** Kernel matrix (signal part) and r for the training inputs. */
  // scratch buffers reused across likelihood evaluations (the fit makes dozens; allocation showed up as GC time)
  private buf?: { r2: Float64Array; kf: Float64Array; kt: Float64Array; r: Float64Array; e: Float64Array; W: Float64Array; common: Float64Array };

  private scratch() {
    const nn = this.n * this.n;
    if (!this.buf) this.buf = { r2: new Float64Array(nn), kf: new Float64Array(nn), kt: new Float64Array(nn), r: new Float64Array(nn), e: new Float64Array(nn), W: new Float64Array(nn), common: new Float64Array(nn) };
    return this.buf;
  }

  private build(t: GpTheta): { kf: Float64Array; kt: Float64Array; r: Float64Array; e: Float64Array } {
    const n = this.n;
    const inv2 = t.slice(0, this.dim).map((v) => Math.exp(-2 * v));
    const sf2 = Math.exp(2 * t[this.dim]);
    const { r2, kf, r, e } = this.scratch();
    r2.fill(0);
    for (let d = 0; d < this.dim; d++) {
      const a = this.diff2[d];
      const w = inv2[d];
      for (let k = 0; k < n * n; k++) r2[k] += a[k] * w;
    }
    for (let k = 0; k < n * n; k++) {
      const rr = Math.sqrt(r2[k]);
      const ex = Math.exp(-SQRT5 * rr);
      r[k] = rr;
      e[k] = ex;
      kf[k] = sf2 * (1 + SQRT5 * rr + (5 / 3) * r2[k]) * ex;
    }
    if (!this.groups.length) return { kf, kt: kf, r, e };
    const { kt } = this.scratch();
    kt.set(kf);
    for (let g = 0; g < this.groups.length; g++) {
      const so2 = Math.exp(2 * t[this.dim + 2 + g]);
      const a = this.same[g];
      for (let k = 0; k < n * n; k++) kt[k] += so2 * a[k];
    }
    return { kf, kt, r, e };
  }

  private factor(kf: Float64Array, sn2: number): CholeskyDecomposition | undefined {
    const n = this.n;
    const rows: Float64Array[] = [];
    const jitter = 1e-8 * Math.max(1, kf[0]);
    for (let i = 0; i < n; i++) {
      const row = kf.slice(i * n, (i + 1) * n);
      row[i] += sn2 + jitter;
      rows.push(row);
    }
    const chol = new CholeskyDecomposition(new Matrix(rows));
    return chol.isPositiveDefinite() ? chol : undefined;
  }

  /** Negative log posterior (marginal likelihood + prior) and its gradient in the log parameters. */
  negLogPosterior(t: GpTheta): { f: number; g: number[] } {
    const n = this.n;
    const D = this.dim;
    const grad = new Array<number>(this.thetaSize).fill(0);
    const { kf, kt, r, e } = this.build(t);
    const sn2 = Math.exp(2 * t[D + 1]);
    const chol = this.factor(kt, sn2);
    if (!chol) return { f: 1e10, g: grad };
    const yv = Matrix.columnVector(Array.from(this.ys));
    const alpha = chol.solve(yv).getColumn(0);
    const kinv = chol.solve(Matrix.eye(n, n));
    const Lm = chol.lowerTriangularMatrix;
    let logdet = 0;
    for (let i = 0; i < n; i++) logdet += 2 * Math.log(Lm.get(i, i));
    let yAy = 0;
    for (let i = 0; i < n; i++) yAy += this.ys[i] * alpha[i];
    const ll = -0.5 * yAy - 0.5 * logdet - 0.5 * n * LOG2PI;
    // W = alpha alpha^T - K^-1; dL/dθ = 0.5 tr(W dK/dθ)
    const { W, common } = this.scratch();
    for (let i = 0; i < n; i++) {
      const kr = kinv.getRow(i);
      for (let j = 0; j < n; j++) W[i * n + j] = alpha[i] * alpha[j] - kr[j];
    }
    const sf2 = Math.exp(2 * t[D]);
    // common factor of the length-scale derivative: sf2 * (5/3) (1 + √5 r) e^{-√5 r} * W
    let gs = 0;
    for (let k = 0; k < n * n; k++) {
      common[k] = W[k] * sf2 * (5 / 3) * (1 + SQRT5 * r[k]) * e[k];
      gs += W[k] * kf[k];
    }
    for (let d = 0; d < D; d++) {
      const a = this.diff2[d];
      const inv2 = Math.exp(-2 * t[d]);
      let s = 0;
      for (let k = 0; k < n * n; k++) s += common[k] * a[k];
      grad[d] = 0.5 * s * inv2;
    }
    grad[D] = gs; // 0.5 * tr(W * 2 Kf)
    let wd = 0;
    for (let i = 0; i < n; i++) wd += W[i * n + i];
    grad[D + 1] = wd * sn2; // 0.5 * tr(W * 2 sn2 I)
    for (let g = 0; g < this.groups.length; g++) {
      const a = this.same[g];
      let s = 0;
      for (let k = 0; k < n * n; k++) s += W[k] * a[k];
      grad[D + 2 + g] = s * Math.exp(2 * t[D + 2 + g]); // 0.5 * tr(W * 2 so2 S)
    }
    const lp = this.logPrior(t, grad);
    return { f: -(ll + lp), g: grad.map((v) => -v) };
  }

  /** Fit hyperparameters (multi-start), then factor. `warm` is a previous fit's theta. */
  fit(rng: Rng, warm?: GpTheta): this {
    const D = this.dim;
    // warm start from the previous proposal's fit (hyperparameters move little between proposals), else the default
    const starts: GpTheta[] = [warm && warm.length === this.thetaSize ? this.clampTheta(warm) : this.defaultTheta()];
    const restarts = this.opts.restarts ?? 2;
    for (let s = 0; s < restarts; s++) starts.push(this.lo.map((l, i) => l + rng() * (this.hi[i] - l)));
    // optimise in z with θ = lo + (hi - lo) * sigmoid(z): bounded without projections
    const toTheta = (z: number[]) => z.map((v, i) => this.lo[i] + (this.hi[i] - this.lo[i]) / (1 + Math.exp(-v)));
    const toZ = (t: GpTheta) =>
      t.map((v, i) => {
        const p = Math.min(1 - 1e-6, Math.max(1e-6, (v - this.lo[i]) / (this.hi[i] - this.lo[i])));
        return Math.log(p / (1 - p));
      });
    let best: { f: number; t: GpTheta } = { f: Infinity, t: starts[0] };
    if (this.n >= 2) {
      for (const s0 of starts) {
        const fz = (z: number[]) => {
          const t = toTheta(z);
          const { f, g } = this.negLogPosterior(t);
          const gz = g.map((gi, i) => {
            const sg = 1 / (1 + Math.exp(-z[i]));
            return gi * (this.hi[i] - this.lo[i]) * sg * (1 - sg);
          });
          return { f, g: gz };
        };
        const res = lbfgsMinimize(fz, toZ(s0), { maxIter: this.opts.maxIter ?? 60 });
        if (res.f < best.f) best = { f: res.f, t: toTheta(res.x) };
      }
    }
    this.setTheta(best.t);
    return this;
  }

  /** The same data under other hyperparameters (used by the over-exploitation fix). */
  withTheta(t: GpTheta): GaussianProcess {
    const y = Array.from(this.ys, (v) => this.yMean + this.yStd * v);
    return new GaussianProcess(this.X, y, this.opts).setTheta(t);
  }

  /** Fix hyperparameters and factor the kernel matrix. */
  setTheta(t: GpTheta): this {
    this.theta = this.clampTheta(t);
    const n = this.n;
    if (n === 0) return this;
    const { kt } = this.build(this.theta);
    let sn2 = Math.exp(2 * this.theta[this.dim + 1]);
    let chol = this.factor(kt, sn2);
    while (!chol) {
      sn2 = sn2 * 10 + 1e-8;
      chol = this.factor(kt, sn2);
    }
    this.alpha = chol.solve(Matrix.columnVector(Array.from(this.ys)));
    this.kinv = chol.solve(Matrix.eye(n, n));
    return this;
  }

  /** Latent mean and sd at each row of Xs (caller's units). */
  predict(Xs: ArrayLike<number>[]): { mean: Float64Array; sd: Float64Array } {
    const m = Xs.length;
    const mean = new Float64Array(m);
    const sd = new Float64Array(m);
    const sf2 = Math.exp(2 * this.theta[this.dim]);
    const so2 = this.groups.map((_, g) => Math.exp(2 * this.theta[this.dim + 2 + g]));
    // prior variance at a point: the Matérn part plus every offset term (a point shares its own category)
    const prior = sf2 + so2.reduce((a, b) => a + b, 0);
    if (this.n === 0) {
      mean.fill(this.yMean);
      sd.fill(Math.sqrt(prior) * this.yStd);
      return { mean, sd };
    }
    const n = this.n;
    const inv = this.theta.slice(0, this.dim).map((v) => Math.exp(-v));
    const rows: Float64Array[] = [];
    for (let i = 0; i < n; i++) {
      const xi = this.X[i];
      const row = new Float64Array(m);
      for (let j = 0; j < m; j++) {
        const xj = Xs[j];
        let r2 = 0;
        for (let d = 0; d < this.dim; d++) {
          const t = (xi[d] - xj[d]) * inv[d];
          r2 += t * t;
        }
        const rr = Math.sqrt(r2);
        let k = sf2 * (1 + SQRT5 * rr + (5 / 3) * r2) * Math.exp(-SQRT5 * rr);
        for (let g = 0; g < so2.length; g++) k += so2[g] * sameCategory(xi, xj, this.groups[g]);
        row[j] = k;
      }
      rows.push(row);
    }
    const Ks = new Matrix(rows);
    const A = this.kinv.mmul(Ks);
    const al = this.alpha.getColumn(0);
    for (let j = 0; j < m; j++) {
      let mu = 0;
      let q = 0;
      for (let i = 0; i < n; i++) {
        const k = Ks.get(i, j);
        mu += k * al[i];
        q += k * A.get(i, j);
      }
      mean[j] = this.yMean + this.yStd * mu;
      sd[j] = Math.sqrt(Math.max(prior - q, 1e-12)) * this.yStd;
    }
    return { mean, sd };
  }
}

/** Bounds on the offset sds (standardised units). */
const OFFSET_BOUNDS: [number, number] = [1e-3, 3];
/** Default log-normal prior on an offset sd: around 0.3 of the objective's sd. */
const OFFSET_PRIOR: [number, number] = [Math.log(0.3), 1];

/**
 * 1 when a and b have the same category in the one-hot columns `cols`, else 0 (for encoded, not snapped, rows:
 * 1 − (squared distance)/2 clamped to [0, 1], which is the indicator on one-hot rows).
 */
function sameCategory(a: ArrayLike<number>, b: ArrayLike<number>, cols: number[]): number {
  let d2 = 0;
  for (const c of cols) d2 += (a[c] - b[c]) ** 2;
  return Math.min(1, Math.max(0, 1 - d2 / 2));
}
