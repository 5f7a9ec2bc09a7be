/** "Did you mean …?" suggestions for unknown names (boards, magics, commands, options). */

/** Levenshtein distance, small strings only (names, flags). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev = new Array<number>(n + 1);
  let cur = new Array<number>(n + 1);
  for (let j = 0; j <= n; j++) prev[j] = j;
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[n];
}

/**
 * The candidate closest to `name` (case-insensitive), preferring one that contains it or is contained in it,
 * or undefined when nothing is reasonably close (distance above half the longer name).
 */
export function closestMatch(name: string, candidates: readonly string[]): string | undefined {
  const q = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    let score = editDistance(q, lc);
    if (lc.includes(q) || q.includes(lc)) score = Math.min(score, Math.abs(lc.length - q.length) * 0.5);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  if (best === undefined) return undefined;
  return bestScore <= Math.max(2, Math.ceil(Math.max(q.length, best.length) / 2)) ? best : undefined;
}
