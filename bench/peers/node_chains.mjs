// node_chains.mjs: W1 on Node: CHAINS chains of TOTAL callbacks in all, each
// callback scheduling the next.
//
//   node node_chains.mjs promise CHAINS TOTAL    Promise.resolve().then(next)
//   node node_chains.mjs immediate CHAINS TOTAL  setImmediate(next)
import { arg, check, nowNs, report } from './node_common.mjs';

const mode = arg(0);
const chains = Number(arg(1, 1));
const total = Number(arg(2, 1000000));
check((mode === 'promise' || mode === 'immediate') && total % chains === 0,
  'usage: node_chains.mjs promise|immediate CHAINS TOTAL');

let ran = 0;
let live = chains;
const start = nowNs();
const done = new Promise((resolve) => {
  for (let c = 0; c < chains; c++) {
    let left = total / chains;
    const step = mode === 'promise'
      ? () => {
        ran++;
        if (--left > 0) Promise.resolve().then(step);
        else if (--live === 0) resolve();
      }
      : () => {
        ran++;
        if (--left > 0) setImmediate(step);
        else if (--live === 0) resolve();
      };
    if (mode === 'promise') Promise.resolve().then(step);
    else setImmediate(step);
  }
});
await done;
const ns = nowNs() - start;
check(ran === total, `${ran} callbacks ran, expected ${total}`);
report({ ops: total, ns, check: ran });
