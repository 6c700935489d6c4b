// summary.mjs: from the raw rounds of a workload to its medians, its in-round
// ratios and its targets, met or missed.
import { median, range, roundRatios } from './stats.mjs';

/**
 * raw: {rounds: [{runId: nsPerOp}], extras: {runId: {key: [v...]}}, errors}.
 * Returns {med: {runId: ns}, spread: {runId: [min, max]}, extra: {runId: {key: v}},
 * ratios: [{a, b, median, per}], targets: [{text, value, max, min, met}]}.
 */
export function summarize(w, raw) {
  const med = {};
  const spread = {};
  const extra = {};
  for (const run of w.runs) {
    const xs = raw.rounds.map((r) => r[run.id]);
    med[run.id] = median(xs);
    spread[run.id] = range(xs);
    const ex = raw.extras[run.id] ?? {};
    extra[run.id] = Object.fromEntries(Object.entries(ex).map(([k, v]) => [k, median(v)]));
  }
  const ratios = (w.ratios ?? []).map(([a, b]) => ({ a, b, ...roundRatios(raw.rounds, [a, b]) }));
  const m = { med, extra, ratios };
  /* A target has a `max` (met at or below it) or, on a workload measured as a
   * rate (W6: requests/s), a `min` of the ratio of rates (met at or above
   * it), that ratio being the median of the rounds' inverted ns/op ratios, as
   * the report shows it. */
  const targets = (w.targets ?? []).map((t) => {
    let value;
    if (t.ratio) {
      const r = ratios.find((x) => x.a === t.ratio[0] && x.b === t.ratio[1]);
      value = w.rate && r ? median(r.per.map((x) => 1 / x)) : r?.median;
    } else if (t.value) value = med[t.value];
    else if (t.extra) value = extra[t.extra[0]]?.[t.extra[1]];
    const max = typeof t.max === 'function' ? t.max(m) : t.max;
    const min = t.min;
    const met = !Number.isFinite(value) ? undefined : min !== undefined ? value >= min : value <= max;
    return { text: t.text, value, max, min, met, kind: t.ratio ? 'ratio' : 'value', runs: t.ratio ?? [t.value ?? t.extra[0]] };
  });
  return { med, spread, extra, ratios, targets };
}
