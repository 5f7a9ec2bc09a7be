/** A text summary of a layer graph (one row per node), for notebooks, logs and error reports. */
import type { LayerGraph } from './types';
import { graphTotals } from './types';

export function graphSummary(g: LayerGraph): string {
  const header = ['#', 'name', 'op', 'inputs', 'output', 'params', 'MACs'];
  const rows = g.nodes.map((n, i) => [
    String(i),
    n.name,
    n.op + (n.activation !== 'none' ? `+${n.activation}` : ''),
    n.inputs.join(', '),
    n.outputShape.join('x'),
    n.params.toLocaleString('en-US'),
    n.macs.toLocaleString('en-US'),
  ]);
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= 5 || i === 0 ? c.padStart(w[i]) : c.padEnd(w[i]))).join('  ').trimEnd();
  const t = graphTotals(g);
  return [
    `${g.name} (${g.dtype}${g.deployed ? ', deployed' : ''}): ${t.nodes} nodes, ${t.params.toLocaleString('en-US')} params, ${t.macs.toLocaleString('en-US')} MACs; inputs ${g.inputs.map((i) => `${i} [${g.tensors[i].shape.join(', ')}]`).join(', ')}`,
    line(header),
    w.map((n) => '-'.repeat(n)).join('  '),
    ...rows.map(line),
  ].join('\n');
}
