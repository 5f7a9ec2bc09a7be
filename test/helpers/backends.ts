/** Running the same computation on the wasm backend and on tfjs' reference cpu backend, for the kernel tests. */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend';
import { relError, type Arr } from './numeric';

/**
 * Run f on wasm and on cpu from the same inputs; require the same shapes, values within `tol` (relError) and no
 * tensor leaked on either; return the names of the wasm kernels f ran. Leaves the wasm backend selected.
 */
export async function matchesCpu(f: (ts: tf.Tensor[]) => tf.Tensor | tf.Tensor[], inputs: Arr[], tol = 1e-4): Promise<Set<string>> {
  const out: Array<Array<{ data: Float32Array; shape: number[] }>> = [];
  let kernels = new Set<string>();
  for (const b of ['wasm', 'cpu'] as const) {
    await initBackend(b);
    const before = tf.memory().numTensors;
    const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
    let rs: tf.Tensor[] = [];
    const prof = await tf.profile(() => {
      const r = tf.tidy(() => f(ts));
      rs = Array.isArray(r) ? r : [r];
      return rs;
    });
    if (b === 'wasm') kernels = new Set(prof.kernels.map((k) => k.name));
    out.push(await Promise.all(rs.map(async (t) => ({ data: Float32Array.from((await t.data()) as Float32Array), shape: t.shape }))));
    tf.dispose([...rs, ...ts]);
    expect(tf.memory().numTensors).toBe(before);
  }
  await initBackend('wasm');
  const [w, c] = out;
  expect(w.length).toBe(c.length);
  w.forEach((x, i) => {
    expect(x.shape).toEqual(c[i].shape);
    expect(relError(x.data, c[i].data)).toBeLessThan(tol);
  });
  return kernels;
}
