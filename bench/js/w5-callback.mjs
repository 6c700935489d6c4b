// w5-callback.mjs: W5 by hand: bench/emcc/w5_callback.c's module, whose
// ping import JS answers by calling its on_pong export from the Promise's
// then(). No runtime on either side: the floor of a C-to-JS await.
//
//   node bench/js/w5-callback.mjs MODULE.wasm N
import { readFile } from 'node:fs/promises';
import { arg, check, nowNs, report } from '../peers/node_common.mjs';

const file = arg(0);
const n = Number(arg(1, 100000));
const ping = async (x) => x + 1;
let exports;
let finish;
const finished = new Promise((resolve) => {
  finish = resolve;
});
const imports = {
  bench: {
    ping: (x) => {
      ping(x).then((v) => exports.on_pong(v));
    },
    done: (ok) => finish([nowNs(), ok]),
  },
};
const { instance } = await WebAssembly.instantiate(await readFile(file), imports);
exports = instance.exports;
exports._initialize?.();
const start = nowNs();
exports.start(n);
const [end, ok] = await finished;
check(ok === n, `${ok} of ${n} pings answered right`);
report({ ops: n, ns: end - start, check: ok });
