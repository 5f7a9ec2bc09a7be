/**
 * The arena memory planner: greedy by size over buffer lifetimes, like TensorFlow Lite Micro's GreedyMemoryPlanner.
 * Buffers are placed largest first, each at the lowest offset where it does not overlap (in bytes) any already-placed
 * buffer whose lifetime overlaps its own. The arena is the highest end offset.
 *
 * In-place ops (reshape/flatten) do not get a buffer: their output aliases the input, whose lifetime is extended.
 * Per-node scratch buffers (im2col, etc.) live only during their node.
 */
import type { LayerGraph } from '../graph/types';
import { bytesPerElement, numElements } from '../graph/types';

export interface PlanBuffer {
  /** Tensor name, or 'scratch:<node>' for a node's scratch buffer. */
  name: string;
  bytes: number;
  /** Inclusive lifetime in node indices. */
  first: number;
  last: number;
  offset: number;
  kind: 'activation' | 'input' | 'output' | 'scratch';
}

export interface ArenaPlan {
  arenaBytes: number;
  buffers: PlanBuffer[];
  /** Node index at which the live bytes peak, and the live total there. */
  peakNode: number;
  peakLiveBytes: number;
  /** The two largest buffers live at the peak (what to shrink to lower RAM). */
  peakTensors: string[];
  /** Live activation bytes at each node (for per-layer peak-RAM share). */
  liveBytesPerNode: number[];
  /** The greedy order that gave the smallest arena. */
  strategy: PlacementOrder;
}

export interface PlanOptions {
  /** Place graph inputs/outputs in the arena (TFLM and STM32Cube.AI "input/output allocated" do). Default true. */
  includeIO?: boolean;
  /** Buffer alignment in bytes (TFLM: 16). */
  alignment?: number;
  /** Scratch bytes per node index (from the cost model); 0 or missing for none. */
  scratch?: number[];
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

export type PlacementOrder = 'size' | 'size-x-lifetime' | 'first-use';

function ordered(buffers: PlanBuffer[], order: PlacementOrder): PlanBuffer[] {
  const key = (b: PlanBuffer) => (order === 'size' ? b.bytes : order === 'size-x-lifetime' ? b.bytes * (b.last - b.first + 1) : -b.first);
  return buffers
    .map((b, i) => ({ b, i }))
    .sort((x, y) => key(y.b) - key(x.b) || y.b.bytes - x.b.bytes || x.b.first - y.b.first || x.i - y.i)
    .map((x) => x.b);
}

/**
 * Greedy placement of buffers with lifetimes in the given order (TFLM's GreedyMemoryPlanner uses 'size');
 * mutates offsets, returns the arena size.
 */
export function placeGreedy(buffers: PlanBuffer[], alignment = 16, order: PlacementOrder = 'size'): number {
  const placed: PlanBuffer[] = [];
  let arena = 0;
  for (const b of ordered(buffers, order)) {
    const overlapping = placed.filter((p) => p.first <= b.last && b.first <= p.last).sort((p, q) => p.offset - q.offset);
    let offset = 0;
    for (const p of overlapping) {
      if (offset + b.bytes <= p.offset) break;
      offset = Math.max(offset, align(p.offset + p.bytes, alignment));
    }
    b.offset = offset;
    placed.push(b);
    arena = Math.max(arena, offset + b.bytes);
  }
  return arena;
}

/** Plan the activation arena of a (deployed) graph. */
export function planArena(graph: LayerGraph, opts: PlanOptions = {}): ArenaPlan {
  const includeIO = opts.includeIO ?? true;
  const alignment = opts.alignment ?? 16;
  const n = graph.nodes.length;
  // Resolve in-place aliases to their root tensor, extending the root's lifetime.
  const root = new Map<string, string>();
  const life = new Map<string, { first: number; last: number }>();
  for (const t of Object.values(graph.tensors)) life.set(t.name, { first: t.firstUse, last: t.lastUse });
  graph.nodes.forEach((node) => {
    if (node.inPlace && node.inputs.length === 1) {
      const r = root.get(node.inputs[0]) ?? node.inputs[0];
      root.set(node.outputs[0], r);
      const lr = life.get(r)!;
      const lo = life.get(node.outputs[0])!;
      lr.last = Math.max(lr.last, lo.last);
    }
  });
  const buffers: PlanBuffer[] = [];
  // An alias chain ending in a graph output makes the root an output too.
  const outputRoots = new Set<string>();
  for (const [a, r] of root) if (graph.tensors[a].isOutput) outputRoots.add(r);
  for (const t of Object.values(graph.tensors)) {
    if (root.has(t.name)) continue;
    const l = life.get(t.name)!;
    const isOut = t.isOutput || outputRoots.has(t.name);
    const kind: PlanBuffer['kind'] = t.isInput ? 'input' : isOut ? 'output' : 'activation';
    if (!includeIO && kind !== 'activation') continue;
    buffers.push({ name: t.name, bytes: numElements(t.shape) * bytesPerElement(t.dtype), first: l.first, last: l.last, offset: 0, kind });
  }
  (opts.scratch ?? []).forEach((bytes, i) => {
    if (bytes > 0 && i < n) buffers.push({ name: `scratch:${graph.nodes[i].name}`, bytes, first: i, last: i, offset: 0, kind: 'scratch' });
  });
  // TFLM's greedy-by-size can fragment (a big early buffer pushes a later pair apart); also try two other greedy
  // orders and keep the smallest arena, as offline planners do.
  let arenaBytes = Infinity;
  let best: number[] = [];
  let strategy: PlacementOrder = 'size';
  for (const order of ['size', 'size-x-lifetime', 'first-use'] as PlacementOrder[]) {
    const a = placeGreedy(buffers, alignment, order);
    if (a < arenaBytes) {
      arenaBytes = a;
      best = buffers.map((b) => b.offset);
      strategy = order;
    }
  }
  buffers.forEach((b, i) => (b.offset = best[i] ?? 0));
  if (buffers.length === 0) arenaBytes = 0;
  const liveBytesPerNode = new Array<number>(Math.max(n, 1)).fill(0);
  for (const b of buffers) for (let i = Math.max(0, b.first); i <= Math.min(n - 1, b.last); i++) liveBytesPerNode[i] += b.bytes;
  let peakNode = 0;
  for (let i = 1; i < liveBytesPerNode.length; i++) if (liveBytesPerNode[i] > liveBytesPerNode[peakNode]) peakNode = i;
  const peakTensors = buffers
    .filter((b) => b.first <= peakNode && peakNode <= b.last)
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 2)
    .map((b) => b.name);
  return { arenaBytes, buffers, peakNode, peakLiveBytes: liveBytesPerNode[peakNode], peakTensors, liveBytesPerNode, strategy };
}
