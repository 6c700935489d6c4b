// node_timers.mjs: W2 on Node: N setTimeout (1..8 ms, bench_rand's sequence),
// N/2 clearTimeout, N/2 fires. Bytes per timer: the RSS growth over N.
//
//   node node_timers.mjs N
import { arg, check, makeRand, nowNs, report, rssBytes } from './node_common.mjs';

const n = Number(arg(0, 1000000)) & ~1;
const rand = makeRand();
const ms = Array.from({ length: n }, () => 1 + (rand() % 8));
const handles = new Array(n);
let fired = 0;
let resolveAll;
const all = new Promise((resolve) => {
  resolveAll = resolve;
});
const onFire = () => {
  if (++fired === n / 2) resolveAll(nowNs());
};

const mem0 = rssBytes();
const t0 = nowNs();
for (let i = 0; i < n; i++) handles[i] = setTimeout(onFire, ms[i]);
const t1 = nowNs();
for (let i = 1; i < n; i += 2) clearTimeout(handles[i]);
const t2 = nowNs();
const mem1 = rssBytes();
const t3 = await all;
check(fired === n / 2, `${fired} timers fired, expected ${n / 2}`);
report({
  ops: 2 * n, ns: t3 - t0, check: fired, start_ns: t1 - t0, cancel_ns: t2 - t1, fire_ns: t3 - t2,
  mem_per_timer: (mem1 - mem0) / n, counted: 0,
});
