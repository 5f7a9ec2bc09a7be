/** Price one model on many boards (`--boards all`). */
import type { LayerGraph } from '../graph/types';
import type { Board } from './boards';
import { findBoard, listBoards } from './boards';
import type { EstimateOptions, McuReport } from './estimate';
import { estimate } from './estimate';
import type { BoardComparison } from './report';
import { attachComparisonDisplay, comparisonRows } from './report';

/** Estimate on every board ('all' or a list of names/boards); rows sorted by latency. */
export function compareBoards(graph: LayerGraph, boards: 'all' | Array<string | Board> = 'all', opts: EstimateOptions = {}): BoardComparison & { reports: McuReport[] } {
  const list = boards === 'all' ? listBoards() : boards.map((b) => (typeof b === 'string' ? findBoard(b) : b));
  const reports = list.map((b) => estimate(graph, b, opts)).sort((a, b) => a.totals.latencyMs - b.totals.latencyMs);
  const c = attachComparisonDisplay({ model: graph.name, dtype: opts.dtype ?? 'int8', rows: comparisonRows(reports) });
  Object.defineProperty(c, 'reports', { value: reports, enumerable: false });
  return c as BoardComparison & { reports: McuReport[] };
}
