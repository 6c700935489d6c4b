// node_common.mjs: what the Node peers share: a nanosecond clock, arguments,
// the result line (the protocol of bench/c/bench.h), the check, and the same
// LCG as bench_rand() so timeouts match the C programs.
import process from 'node:process';

export const nowNs = () => process.hrtime.bigint();

export function arg(i, def) {
  const v = process.argv[2 + i];
  return v === undefined ? def : v;
}

/** Print the one JSON result line; fields: ops, ns (BigInt ok), check, extras. */
export function report(fields) {
  const out = {};
  for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'bigint' ? Number(v) : v;
  console.log(JSON.stringify(out));
}

/** A wrong result is never a number: FAIL on stderr and exit 1. */
export function check(cond, message) {
  if (!cond) {
    console.error(`FAIL: ${message}`);
    process.exit(1);
  }
}

/** bench_rand(): a 64-bit LCG, the top 31 bits of the state. */
export function makeRand(seed = 42n) {
  let s = seed;
  const M = (1n << 64n) - 1n;
  return () => {
    s = (s * 6364136223846793005n + 1442695040888963407n) & M;
    return Number(s >> 33n);
  };
}

export const rssBytes = () => process.memoryUsage().rss;
