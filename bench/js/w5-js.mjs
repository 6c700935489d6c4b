// w5-js.mjs: W5's baseline, pure JS: an async function awaits ping(i) N times,
// the same async (x) => x + 1 the C variants await.
//
//   node bench/js/w5-js.mjs N
import { arg, check, nowNs, report } from '../peers/node_common.mjs';

const n = Number(arg(0, 100000));
const ping = async (x) => x + 1;
let ok = 0;
const start = nowNs();
for (let i = 0; i < n; i++) if ((await ping(i)) === i + 1) ok++;
const ns = nowNs() - start;
check(ok === n, `${ok} of ${n} pings answered right`);
report({ ops: n, ns, check: ok });
