// stats.mjs: medians, and the ratios taken inside each round.

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** Smallest and largest finite value, for the spread columns. */
export function range(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? [Math.min(...v), Math.max(...v)] : [undefined, undefined];
}

/**
 * rounds: [{runId: nsPerOp}] one map per round. For [a, b], the ratio a/b of
 * each round in which both ran, then their median: back-to-back runs share the
 * machine's load at that moment, so the ratio is steadier than either time.
 */
export function roundRatios(rounds, [a, b]) {
  const per = [];
  for (const r of rounds) if (Number.isFinite(r[a]) && Number.isFinite(r[b])) per.push(r[a] / r[b]);
  return { per, median: median(per) };
}
