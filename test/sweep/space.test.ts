import { InputError } from '../../src/common/errors';
import { mulberry32 } from '../../src/common/rng';
import { parseSpace, SearchSpace } from '../../src/sweep/space';

describe('search spaces', () => {
  const body = `
# the issue's example
learningRate: loguniform(1e-4, 1e-1)
filters: int(4, 64)
depth: int(1, 5)
activation: choice(relu, relu6)
dropout: uniform(0, 0.5)
epochs: 3
optimizer: fixed(adam)
`;
  test('parses every kind and encodes to the unit cube', () => {
    const s = parseSpace(body);
    expect(s.names).toEqual(['learningRate', 'filters', 'depth', 'activation', 'dropout', 'epochs', 'optimizer']);
    expect(s.spec.learningRate).toEqual({ type: 'loguniform', low: 1e-4, high: 1e-1 });
    expect(s.spec.activation).toEqual({ type: 'choice', values: ['relu', 'relu6'] });
    expect(s.spec.epochs).toEqual({ type: 'fixed', value: 3 });
    expect(s.size).toBe(1 + 1 + 1 + 2 + 1);
    // log scale: the middle of the cube is the geometric mean
    const mid = s.decode([0.5, 0.5, 0.5, 0, 1, 0.5]);
    expect(mid.learningRate).toBeCloseTo(Math.sqrt(1e-4 * 1e-1), 12);
    expect(mid.filters).toBe(34);
    expect(mid.depth).toBe(3);
    expect(mid.activation).toBe('relu6');
    expect(mid.epochs).toBe(3);
    expect(mid.optimizer).toBe('adam');
    const rng = mulberry32(3);
    for (let i = 0; i < 200; i++) {
      const p = s.sample(rng);
      expect(Number.isInteger(p.filters)).toBe(true);
      expect(p.filters as number).toBeGreaterThanOrEqual(4);
      expect(p.filters as number).toBeLessThanOrEqual(64);
      expect(p.learningRate as number).toBeGreaterThanOrEqual(1e-4);
      expect(p.learningRate as number).toBeLessThanOrEqual(1e-1);
      // snapping is idempotent and decode(encode(p)) is p
      const u = s.encode(p);
      expect(s.decode(u)).toEqual(p);
      expect(s.snap(s.snap(u))).toEqual(s.snap(u));
    }
    expect(parseSpace(s.toString()).spec).toEqual(s.spec);
  });

  test('errors name the line and the fix', () => {
    expect(() => parseSpace('lr: loguniform(1e-4, 1e-1)\nfilters: intt(4, 64)')).toThrow(/line 2 .*unknown distribution 'intt'.*did you mean 'int'/);
    expect(() => parseSpace('lr: loguniform(0, 1)')).toThrow(/line 1.*log scale needs low > 0/);
    expect(() => parseSpace('a: uniform(5, 1)')).toThrow(/line 1.*low 5 is above high 1/);
    expect(() => parseSpace('a: int(1.5, 4)')).toThrow(/whole numbers/);
    expect(() => parseSpace('just words')).toThrow(/line 1.*expected 'name: distribution\(args\)'/);
    expect(() => parseSpace('a: uniform(1)')).toThrow(/two numbers/);
    expect(() => parseSpace('a: int(1, 2)\na: int(1, 3)')).toThrow(/line 2.*declared twice/);
    expect(() => parseSpace('# nothing')).toThrow(InputError);
  });

  test('grids enumerate every combination', () => {
    const s = new SearchSpace({ a: { type: 'int', low: 1, high: 3 }, b: { type: 'choice', values: ['x', 'y'] }, c: { type: 'uniform', low: 0, high: 1 } });
    const g = s.grid(3);
    expect(g.length).toBe(3 * 2 * 3);
    expect(new Set(g.map((p) => s.key(p))).size).toBe(g.length);
    expect(s.cardinality()).toBe(Infinity);
    expect(new SearchSpace({ a: { type: 'int', low: 1, high: 3 }, b: { type: 'choice', values: ['x', 'y'] } }).cardinality()).toBe(6);
  });
});
