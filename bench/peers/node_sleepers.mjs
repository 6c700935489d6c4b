// node_sleepers.mjs: W4 on Node: N async functions each awaiting a 10 ms
// setTimeout promise, all started at once. Bytes per task: RSS growth over N,
// read when the last one started.
//
//   node node_sleepers.mjs N
import { arg, check, nowNs, report, rssBytes } from './node_common.mjs';

const n = Number(arg(0, 1000000));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
let done = 0;

async function sleeper() {
  await sleep(10);
  done++;
}

const mem0 = rssBytes();
const start = nowNs();
const all = new Array(n);
for (let i = 0; i < n; i++) all[i] = sleeper();
const mem1 = rssBytes();
await Promise.all(all);
const ns = nowNs() - start;
check(done === n, `${done} sleepers finished, expected ${n}`);
report({ ops: n, ns, check: done, mem_per_task: (mem1 - mem0) / n, counted: 0 });
