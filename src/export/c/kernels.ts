/**
 * C99 sources of the int8 kernels. Each kernel is a transcription of the matching function in
 * src/quantize/engine.ts (same rounding, same clamps, same int32 accumulation), so the generated model is
 * bit-exact with runInt8. Only kernels the model uses are emitted (keys of KERNELS), in a fixed order so the
 * output bytes are deterministic.
 */

/** Fixed-point helpers (src/quantize/fixedpoint.ts), always emitted: every requantising kernel uses them. */
export const FIXEDPOINT_C = `/* TFLite SaturatingRoundingDoublingHighMul + RoundingDivideByPOT (fixedpoint.ts). */
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

static int8_t tl_clamp8(int32_t v, int32_t lo, int32_t hi) {
  return (int8_t)(v < lo ? lo : v > hi ? hi : v);
}
`;

export type KernelName = 'conv2d' | 'depthwise' | 'dense' | 'maxpool' | 'avgpool' | 'gap' | 'add' | 'softmax' | 'lut';

export const KERNEL_DECLS: Record<KernelName, string> = {
  conv2d: `void tl_conv2d(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int CO, const int8_t *w, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  depthwise: `void tl_depthwise(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int mult, const int8_t *w, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  dense: `void tl_dense(const int8_t *x, int rows, int K, int N, int8_t *y, const int8_t *w, const int32_t *bias, const int32_t *M, const int32_t *S, int32_t in_off, int32_t out_zp, int32_t lo, int32_t hi);`,
  maxpool: `void tl_maxpool(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, int32_t lo, int32_t hi);`,
  avgpool: `void tl_avgpool(const int8_t *x, int H, int W, int C, int8_t *y, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl, int32_t zp, int32_t lo, int32_t hi);`,
  gap: `void tl_gap(const int8_t *x, int HW, int C, int8_t *y, int32_t in_zp, int left_shift, int32_t m, int32_t s, int32_t out_zp, int32_t lo, int32_t hi);`,
  add: `void tl_add(const int8_t *a, int na, const int8_t *b, int nb, int8_t *y, int n, int32_t zpa, int32_t zpb, int left_shift, int32_t ma, int32_t sa, int32_t mb, int32_t sb, int32_t mo, int32_t so, int32_t out_zp, int32_t lo, int32_t hi);`,
  softmax: `void tl_softmax(const int8_t *x, int rows, int N, int8_t *y, const int32_t *exp_lut);`,
  lut: `void tl_lut(const int8_t *x, int n, int8_t *y, const int8_t *lut);`,
};

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

export const KERNEL_ORDER: KernelName[] = ['conv2d', 'depthwise', 'dense', 'maxpool', 'avgpool', 'gap', 'add', 'softmax', 'lut'];
