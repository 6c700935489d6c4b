// node_switch.mjs: W3 on Node.
//
//   node node_switch.mjs done N        one async function awaits an already
//                                      resolved promise N times (each await
//                                      suspends to the microtask queue)
//   node node_switch.mjs yield N       two async functions each await null N
//                                      times (a microtask switch between them)
//   node node_switch.mjs immediate N   two async functions each await a
//                                      setImmediate promise N times (a yield
//                                      to Node's event loop)
import { arg, check, nowNs, report } from './node_common.mjs';

const mode = arg(0);
const n = Number(arg(1, 1000000));
check(['done', 'yield', 'immediate'].includes(mode), 'usage: node_switch.mjs done|yield|immediate N');

const resolved = Promise.resolve(7);
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function awaiter() {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (mode === 'done') sum += (await resolved) === 7 ? 1 : 0;
    else if (mode === 'yield') sum += (await null) === null ? 1 : 0;
    else sum += (await tick()) === undefined ? 1 : 0;
  }
  return sum;
}

const start = nowNs();
const sums = await Promise.all(mode === 'done' ? [awaiter()] : [awaiter(), awaiter()]);
const ns = nowNs() - start;
const total = sums.reduce((a, b) => a + b, 0);
check(total === n * sums.length, `${total} awaits succeeded, expected ${n * sums.length}`);
report({ ops: n * sums.length, ns, check: sums[0] });
