/** The cnn recipe and its board-cost constraint with the real src/models, src/train and src/mcu. */
import * as tf from '@tensorflow/tfjs';
import { cnn, cnnCost } from '../../src/sweep/recipes';
import { sweep } from '../../src/sweep/sweep';
import type { Params } from '../../src/sweep/space';

describe('cnn recipe', () => {
  test('priced on a board without training; trained ones leave no tensors behind', async () => {
    const n0 = tf.memory().numTensors;
    const cost = cnnCost('NUCLEO-L4R5ZI', { maxLatencyMs: 50 });
    const small = cost({ filters: 8, depth: 2, activation: 'relu' });
    const big = cost({ filters: 64, depth: 3, activation: 'relu' });
    expect(small.feasible).toBe(true);
    expect(big.feasible).toBe(false);
    expect(big.reason).toMatch(/latency .* > 50 ms/);
    expect(big.costs!.flash).toBeGreaterThan(small.costs!.flash);
    const trained: Params[] = [];
    const r = await sweep({
      space: 'filters: int(4, 64)\ndepth: int(1, 3)\nlearningRate: loguniform(1e-3, 1e-2)\nepochs: 1\nlimit: 400',
      objective: 'val_accuracy',
      maximize: true,
      trials: 2,
      optimizer: 'random',
      seed: 3,
      store: false,
      constraints: cost,
      trial: (p, s, c) => {
        trained.push(p);
        return cnn(p, s, c);
      },
    });
    expect(trained).toHaveLength(2);
    expect(r.trials.filter((t) => t.status === 'completed').every((t) => t.costs.latencyMs <= 50 && t.metrics.val_accuracy > 0.1)).toBe(true);
    expect(r.trials.filter((t) => t.status === 'infeasible').every((t) => !trained.includes(t.params))).toBe(true);
    expect(tf.memory().numTensors).toBe(n0);
  });
});
