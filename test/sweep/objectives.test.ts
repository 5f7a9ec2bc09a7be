/**
 * The benchmark functions against ../shared/sweep/objectives_reference.py: the values it prints, and the same points
 * evaluated by the reference itself (run with /usr/bin/python3) so the port matches bit for bit in float64.
 */
import { execFileSync } from 'child_process';
import { mulberry32 } from '../../src/common/rng';
import { branin, BRANIN_MIN, hartmann6, HARTMANN6_MIN, tinymlClean, tinymlNoise, tinymlObserved, tinymlOptimum, TINYML_ACTS } from '../../src/sweep/benchmarks';
import type { TinyAct } from '../../src/sweep/benchmarks';

const REF = '/work/shared/sweep/objectives_reference.py';

describe('benchmark functions match the Python reference', () => {
  test('values the reference prints', () => {
    expect(branin(Math.PI, 2.275)).toBe(0.39788735772973816);
    expect(BRANIN_MIN).toBe(0.39788735772973816);
    expect(hartmann6([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])).toBe(-3.322368011391339);
    expect(HARTMANN6_MIN).toBe(-3.322368011415515);
    const opt = tinymlOptimum();
    expect(opt.value).toBe(0.0794945321258532);
    expect(opt.lr).toBe(0.001584893192461114);
    expect([opt.filters, opt.depth, opt.act]).toEqual([46, 3, 'swish']);
    expect(tinymlClean(1e-3, 16, 2, 'relu')).toBe(0.25330365952075873);
    const r = mulberry32(1);
    expect([r(), r(), r()].map((v) => Number(v.toFixed(12)))).toEqual([0.627073940588, 0.00273572118, 0.52744703996]);
    expect(tinymlNoise(0, 0)).toBe(-0.9747324511950912);
    expect(tinymlNoise(3, 7)).toBe(-1.0474442550123582);
  });

  // V8's Math.exp/log/cos (fdlibm) and glibc's differ by one ulp on a few % of inputs, so agreement off the printed
  // points is to a few ulps, not bit for bit.
  const ulps = (a: number, b: number) => Math.abs(a - b) / (Number.EPSILON * Math.max(Math.abs(b), 1e-300));
  test('random points evaluated by the reference itself agree to a few ulps', () => {
    const rng = mulberry32(42);
    const pts = Array.from({ length: 25 }, (_, i) => ({
      b: [-5 + 15 * rng(), 15 * rng()],
      h: Array.from({ length: 6 }, () => rng()),
      t: { lr: 10 ** (-4 + 3 * rng()), filters: 4 + Math.floor(61 * rng()), depth: 1 + Math.floor(6 * rng()), act: TINYML_ACTS[Math.floor(4 * rng())] as TinyAct, seed: Math.floor(1000 * rng()), idx: i * 3 },
    }));
    const py = `
import json, sys, importlib.util
spec = importlib.util.spec_from_file_location('ref', ${JSON.stringify(REF)})
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
pts = json.load(sys.stdin)
out = [[ref.branin(*p['b']), ref.hartmann6(p['h']), ref.tinyml_observed(p['t']['lr'], p['t']['filters'], p['t']['depth'], p['t']['act'], p['t']['seed'], p['t']['idx'])] for p in pts]
print(json.dumps([[repr(v) for v in row] for row in out]))
`;
    const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(pts) }).toString()) as string[][];
    pts.forEach((p, i) => {
      expect(ulps(branin(p.b[0], p.b[1]), Number(out[i][0]))).toBeLessThanOrEqual(8);
      expect(ulps(hartmann6(p.h), Number(out[i][1]))).toBeLessThanOrEqual(8);
      expect(ulps(tinymlObserved(p.t.lr, p.t.filters, p.t.depth, p.t.act, p.t.seed, p.t.idx), Number(out[i][2]))).toBeLessThanOrEqual(8);
    });
  });
});
