/** Normal-distribution helpers for acquisition functions. */

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export function normPdf(z: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Complementary error function (Numerical Recipes erfcc, fractional error < 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

export function normCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * log of expected improvement for minimisation, EI = (best − μ)Φ(z) + σφ(z), z = (best − μ)/σ, computed so that far
 * from the incumbent (z ≪ 0, where EI underflows) candidates still rank by how promising they are.
 */
export function logExpectedImprovement(mu: number, sd: number, best: number): number {
  const s = Math.max(sd, 1e-12);
  const z = (best - mu) / s;
  if (z > -6) {
    const v = z * normCdf(z) + normPdf(z);
    if (v > 0) return Math.log(s) + Math.log(v);
  }
  // z Φ(z) + φ(z) ~ φ(z) / z² (1 − 3/z² …) for z → −∞
  return Math.log(s) - 0.5 * z * z - Math.log(Math.sqrt(2 * Math.PI)) - 2 * Math.log(-z);
}
