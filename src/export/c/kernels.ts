/**
 * C99 sources of the int8 kernels. Each kernel is a transcription of the matching function in
 * src/quantize/engine.ts (same rounding, same clamps, same int32 accumulation), so the generated model is
 * bit-exact with runInt8. Only kernels the model uses are emitted (keys of KERNELS), in a fixed order so the
 * output bytes are deterministic.
 */

/** Saturating clamp to an activation range, always emitted. */
const CLAMP_C = `static int8_t tl_clamp8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}
`;

/** Double rounding (TFLite's reference): SaturatingRoundingDoublingHighMul + RoundingDivideByPOT (fixedpoint.ts). */
const MBQM_DOUBLE_C = `/* TFLite SaturatingRoundingDoublingHighMul + RoundingDivideByPOT (fixedpoint.ts): two roundings. */
static int32_t tl_srdhm(int32_t a, int32_t b) {
  if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
  return (int32_t)((ab + nudge) / (1LL << 31)); /* C division truncates toward zero, as the reference */
}

static int32_t tl_rdbp(int32_t x, int e) {
  if (e == 0) return x;
  int32_t mask = (int32_t)((1LL << e) - 1);
  int32_t rem = x & mask;
  int32_t th = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (rem > th ? 1 : 0);
}

int32_t tl_mbqm(int32_t x, int32_t m, int32_t s) {
  int left = s > 0 ? (int)s : 0;
  int right = s > 0 ? 0 : (int)-s;
  /* Left shift in unsigned arithmetic: wraps like the reference's int32 store, without signed-overflow UB. */
  int32_t xs = (int32_t)((uint32_t)x << left);
  return tl_rdbp(tl_srdhm(xs, m), right);
}
`;

/** Single rounding (TFLITE_SINGLE_ROUNDING / CMSIS_NN_USE_SINGLE_ROUNDING; fixedpoint.ts multiplyByQuantizedMultiplierSingle). */
const MBQM_SINGLE_C = `/* round(x * m / 2^(31 - s)) from the exact 64-bit product, ties away from zero: one rounding
 * (fixedpoint.ts multiplyByQuantizedMultiplierSingle). |x * m| <= 2^62, so adding half cannot overflow. */
int32_t tl_mbqm(int32_t x, int32_t m, int32_t s) {
  int ts = 31 - (int)s; /* 1..62 */
  int64_t p = (int64_t)x * (int64_t)m;
  int64_t half = (int64_t)1 << (ts - 1);
  int64_t r = p >= 0 ? (p + half) >> ts : -((-p + half) >> ts);
  return (int32_t)(uint32_t)(uint64_t)r; /* wraps to int32 like the reference's | 0 */
}
`;

/** Fixed-point helpers for a rounding mode: every requantising kernel uses tl_mbqm. */
export function fixedpointC(rounding: 'single' | 'double'): string {
  return (rounding === 'single' ? MBQM_SINGLE_C : MBQM_DOUBLE_C) + '\n' + CLAMP_C;
}

export type KernelName = 'conv2d' | 'depthwise' | 'dense' | 'maxpool' | 'avgpool' | 'gap' | 'add' | 'concat' | 'pad' | 'softmax' | 'lut' | 'conv2d_dsp' | 'dense_dsp';

export const KERNEL_DECLS: Record<KernelName, string> = {
  conv2d: `void tl_conv2d(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int CO, const int8_t *w, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  depthwise: `void tl_depthwise(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int mult, const int8_t *w, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  conv2d_dsp: `void tl_conv2d_dsp(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int CO, const int8_t *wt, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  dense_dsp: `void tl_dense_dsp(const int8_t *x, int rows, int K, int N, int8_t *y, const int8_t *wt, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  dense: `void tl_dense(const int8_t *x, int rows, int K, int N, int8_t *y, const int8_t *w, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  maxpool: `void tl_maxpool(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, int32_t lo, int32_t hi);`,
  avgpool: `void tl_avgpool(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, int32_t zp, int32_t lo, int32_t hi);`,
  gap: `void tl_gap(const int8_t *x, int HW, int C, int8_t *y, int32_t in_zp, int left_shift, int32_t m, int32_t s, int32_t out_zp, int32_t lo, int32_t hi);`,
  add: `void tl_add(const int8_t *a, int na, const int8_t *b, int nb, int8_t *y, int n, int32_t zpa, int32_t zpb, int left_shift, int32_t ma, int32_t sa, int32_t mb, int32_t sb, int32_t mo, int32_t so, int32_t out_zp, int32_t lo, int32_t hi);`,
  concat: `void tl_concat(const int8_t *x, int outer, int inner, int8_t *y, int out_inner, int offset, int same, int32_t in_zp, int32_t m, int32_t s, int32_t out_zp);`,
  pad: `void tl_pad(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int pt, int pl, int32_t zp);`,
  softmax: `void tl_softmax(const int8_t *x, int rows, int N, int8_t *y, const int32_t *exp_lut);`,
  lut: `void tl_lut(const int8_t *x, int n, int8_t *y, const int8_t *lut);`,
};

/**
 * The DSP variant's dot product: four int8 pairs per step with the M-profile DSP extension — SXTB16 widens bytes 0,2
 * (and, rotated, 1,3) to int16 lanes, SADD16 adds the input offset (|x + off| <= 255 fits int16), SMLAD does two
 * 16x16 multiplies and both adds into the int32 accumulator. Integer sums wrap identically in any order, so this is
 * bit-exact with the scalar loop, which is also the fallback on cores (and hosts) without the extension. Emitted once,
 * after the includes, when a DSP kernel is used.
 */
export const DOT_DSP_C = `#include <string.h>
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>
#define TL_HAVE_DSP 1
#endif

static int32_t tl_dot(const int8_t *x, const int8_t *w, int n, int32_t in_off, int32_t acc) {
  int i = 0;
#ifdef TL_HAVE_DSP
  const int16x2_t off2 = (int16x2_t)(((uint32_t)(uint16_t)in_off << 16) | (uint32_t)(uint16_t)in_off);
  for (; i + 4 <= n; i += 4) {
    uint32_t xv, wv;
    memcpy(&xv, x + i, 4); /* unaligned word loads: allowed on v7E-M/v8-M mainline */
    memcpy(&wv, w + i, 4);
    int16x2_t x02 = __sadd16(__sxtb16((int8x4_t)xv), off2);
    int16x2_t x13 = __sadd16(__sxtb16((int8x4_t)((xv >> 8) | (xv << 24))), off2);
    acc = __smlad(x02, __sxtb16((int8x4_t)wv), acc);
    acc = __smlad(x13, __sxtb16((int8x4_t)((wv >> 8) | (wv << 24))), acc);
  }
#endif
  for (; i < n; i++) acc += ((int32_t)x[i] + in_off) * (int32_t)w[i];
  return acc;
}
`;

export const KERNEL_DEFS: Record<KernelName, string> = {
  conv2d: `${KERNEL_DECLS.conv2d.slice(0, -1)} {
  /* Output channel outermost per pixel: int32 wrap-around sums are order independent, so no accumulator array is needed. */
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++)
      for (int co = 0; co < CO; co++) {
        int32_t acc = bias[co];
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= W) continue;
            const int8_t *xp = x + (iy * W + ix) * C;
            const int8_t *wp = w + (ky * kw + kx) * C * CO + co;
            for (int ci = 0; ci < C; ci++) acc += ((int32_t)xp[ci] + in_off) * (int32_t)wp[ci * CO];
          }
        }
        y[(oy * OW + ox) * CO + co] = tl_clamp8(tl_mbqm(acc, M[co], S[co]) + out_zp, lo, hi);
      }
}
`,
  depthwise: `${KERNEL_DECLS.depthwise.slice(0, -1)} {
  int CO = C * mult;
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++)
      for (int co = 0; co < CO; co++) {
        int ci = co / mult;
        int32_t acc = bias[co];
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= W) continue;
            acc += ((int32_t)x[(iy * W + ix) * C + ci] + in_off) * (int32_t)w[(ky * kw + kx) * CO + co];
          }
        }
        y[(oy * OW + ox) * CO + co] = tl_clamp8(tl_mbqm(acc, M[co], S[co]) + out_zp, lo, hi);
      }
}
`,
  dense: `${KERNEL_DECLS.dense.slice(0, -1)} {
  for (int r = 0; r < rows; r++)
    for (int n = 0; n < N; n++) {
      int32_t acc = bias[n];
      for (int k = 0; k < K; k++) acc += ((int32_t)x[r * K + k] + in_off) * (int32_t)w[k * N + n];
      y[r * N + n] = tl_clamp8(tl_mbqm(acc, M[n], S[n]) + out_zp, lo, hi);
    }
}
`,
  conv2d_dsp: `/* Weights pre-transposed to [CO][kh][kw][C] so each tap's input channels and weights are contiguous for tl_dot. */
${KERNEL_DECLS.conv2d_dsp.slice(0, -1)} {
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++)
      for (int co = 0; co < CO; co++) {
        int32_t acc = bias[co];
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * sh - pt + ky * dh;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * sw - pl + kx * dw;
            if (ix < 0 || ix >= W) continue;
            acc = tl_dot(x + (iy * W + ix) * C, wt + ((co * kh + ky) * kw + kx) * C, C, in_off, acc);
          }
        }
        y[(oy * OW + ox) * CO + co] = tl_clamp8(tl_mbqm(acc, M[co], S[co]) + out_zp, lo, hi);
      }
}
`,
  dense_dsp: `/* Weights pre-transposed to [N][K]: one contiguous row per output for tl_dot. */
${KERNEL_DECLS.dense_dsp.slice(0, -1)} {
  for (int r = 0; r < rows; r++)
    for (int n = 0; n < N; n++) {
      int32_t acc = tl_dot(x + r * K, wt + n * K, K, in_off, bias[n]);
      y[r * N + n] = tl_clamp8(tl_mbqm(acc, M[n], S[n]) + out_zp, lo, hi);
    }
}
`,
  maxpool: `${KERNEL_DECLS.maxpool.slice(0, -1)} {
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++)
      for (int c = 0; c < C; c++) {
        int32_t acc = -128;
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= W) continue;
            int32_t v = x[(iy * W + ix) * C + c];
            if (v > acc) acc = v;
          }
        }
        y[(oy * OW + ox) * C + c] = tl_clamp8(acc, lo, hi);
      }
}
`,
  avgpool: `${KERNEL_DECLS.avgpool.slice(0, -1)} {
  for (int oy = 0; oy < OH; oy++)
    for (int ox = 0; ox < OW; ox++)
      for (int c = 0; c < C; c++) {
        int32_t acc = 0, count = 0;
        for (int ky = 0; ky < kh; ky++) {
          int iy = oy * sh - pt + ky;
          if (iy < 0 || iy >= H) continue;
          for (int kx = 0; kx < kw; kx++) {
            int ix = ox * sw - pl + kx;
            if (ix < 0 || ix >= W) continue;
            acc += x[(iy * W + ix) * C + c];
            count++;
          }
        }
        /* Mean of (q - zp) rounded half to even, then + zp: the engine's rounding (not TFLite's half-away). */
        int32_t r = acc - count * zp;
        int32_t q = r / count;
        if (r % count != 0 && r < 0) q--; /* floor division */
        int32_t rem2 = 2 * (r - q * count);
        int32_t v = zp + q + ((rem2 > count || (rem2 == count && (q & 1))) ? 1 : 0);
        y[(oy * OW + ox) * C + c] = tl_clamp8(v, lo, hi);
      }
}
`,
  gap: `${KERNEL_DECLS.gap.slice(0, -1)} {
  for (int c = 0; c < C; c++) {
    int32_t acc = 0;
    for (int i = 0; i < HW; i++) acc += (int32_t)x[i * C + c] - in_zp;
    int32_t xs = (int32_t)((uint32_t)acc << left_shift);
    y[c] = tl_clamp8(tl_mbqm(xs, m, s) + out_zp, lo, hi);
  }
}
`,
  add: `${KERNEL_DECLS.add.slice(0, -1)} {
  for (int i = 0; i < n; i++) {
    /* Broadcast a smaller operand by index modulo its size, as the engine does. */
    int32_t va = a[na == n ? i : i % na], vb = b[nb == n ? i : i % nb];
    int32_t xa = (int32_t)((uint32_t)(va - zpa) << left_shift);
    int32_t xb = (int32_t)((uint32_t)(vb - zpb) << left_shift);
    int64_t sum = (int64_t)tl_mbqm(xa, ma, sa) + (int64_t)tl_mbqm(xb, mb, sb);
    y[i] = tl_clamp8(tl_mbqm((int32_t)(uint32_t)sum, mo, so) + out_zp, lo, hi);
  }
}
`,
  concat: `${KERNEL_DECLS.concat.slice(0, -1)} {
  /* One input of a concatenation: its rows of \`inner\` values go to column \`offset\` of the output's rows, rescaled to
     the output's scale unless both share it (engine.ts concat). */
  for (int r = 0; r < outer; r++)
    for (int j = 0; j < inner; j++) {
      int32_t v = x[r * inner + j];
      y[r * out_inner + offset + j] = same ? (int8_t)v : tl_clamp8(tl_mbqm(v - in_zp, m, s) + out_zp, -128, 127);
    }
}
`,
  pad: `${KERNEL_DECLS.pad.slice(0, -1)} {
  /* Zero padding is the zero point; the input's rows are copied into place (engine.ts padOp). */
  for (int i = 0; i < OH * OW * C; i++) y[i] = (int8_t)zp;
  for (int yy = 0; yy < H; yy++)
    for (int i = 0; i < W * C; i++) y[((yy + pt) * OW + pl) * C + i] = x[yy * W * C + i];
}
`,
  softmax: `${KERNEL_DECLS.softmax.slice(0, -1)} {
  for (int r = 0; r < rows; r++) {
    const int8_t *xr = x + r * N;
    int32_t mx = -128;
    for (int j = 0; j < N; j++) if (xr[j] > mx) mx = xr[j];
    int64_t sum = 0;
    for (int j = 0; j < N; j++) sum += exp_lut[mx - xr[j]];
    /* round(e * 256 / sum) - 128 in integers (engine.ts softmax); all terms are non-negative. */
    for (int j = 0; j < N; j++) {
      int64_t v = ((int64_t)exp_lut[mx - xr[j]] * 512 + sum) / (2 * sum) - 128;
      y[r * N + j] = tl_clamp8((int32_t)v, -128, 127);
    }
  }
}
`,
  lut: `${KERNEL_DECLS.lut.slice(0, -1)} {
  for (int i = 0; i < n; i++) y[i] = lut[(int32_t)x[i] + 128];
}
`,
};

export const KERNEL_ORDER: KernelName[] = ['conv2d', 'conv2d_dsp', 'depthwise', 'dense', 'dense_dsp', 'maxpool', 'avgpool', 'gap', 'add', 'concat', 'pad', 'softmax', 'lut'];
