/**
 * Coordinate exploration of categories (optimizers.ts `untriedCategory`): after the initial design, a choice value
 * not yet proposed is tried at the incumbent's other settings, once; then EI decides again.
 */
import { BayesOpt } from '../../src/sweep/optimizers';
import type { Observation } from '../../src/sweep/optimizers';
import { SearchSpace } from '../../src/sweep/space';

const space = new SearchSpace({
  x: { type: 'uniform', low: 0, high: 1 },
  act: { type: 'choice', values: ['a', 'b', 'c'] },
});
// a smooth bowl in x with a per-category offset; 'a' is the worst category, so the incumbent sits at 'b'
const OFFSET: Record<string, number> = { a: 0.3, b: 0, c: 0.1 };
const f = (x: number, act: string) => (x - 0.6) ** 2 + OFFSET[act];

function run(history: Array<[number, string]>): Observation[] {
  return history.map(([x, act]) => ({ params: { x, act }, value: f(x, act), feasible: true }));
}

describe('categorical coordinate exploration', () => {
  // 4 encoded columns → a 5-point initial design; then two guided trials, both at category 'b'
  const design: Array<[number, string]> = [[0.1, 'a'], [0.9, 'b'], [0.3, 'c'], [0.5, 'a'], [0.7, 'c']];

  it('proposes an untried category at the incumbent settings', () => {
    const hist = run([...design, [0.62, 'b'], [0.58, 'b']]);
    const opt = new BayesOpt(space, { seed: 1 });
    expect(opt.initial).toBe(5);
    const [p] = opt.ask(hist, [], 1, hist.length);
    // incumbent: x 0.62 or 0.58 at 'b' (lowest posterior mean); 'a' has not been proposed since the design
    expect(p.act).toBe('a');
    expect([0.62, 0.58]).toContainEqual(p.x);
  });

  it('leaves the choice to the acquisition once every category has had its turn', () => {
    const hist = run([...design, [0.62, 'b'], [0.6, 'a'], [0.6, 'c']]);
    const opt = new BayesOpt(space, { seed: 1 });
    const [p] = opt.ask(hist, [], 1, hist.length);
    // the EI proposal is near the optimum x = 0.6 of the best category, not a copy of the incumbent
    expect(p.act).toBe('b');
    expect(p.x).not.toBe(0.62);
    expect(Math.abs(Number(p.x) - 0.6)).toBeLessThan(0.25);
  });
});
