// w5-warmup.mjs: where W5's time goes as the engine warms up. W5 runs at
// N = 20,000, where most of the JS host's time is V8 running its path before
// it has compiled it; this shows that curve: the time per round trip in each
// block of BLOCK round trips, in one fresh process, for tideloop (the W5
// module on the package's load(), as bench/js/run-tideloop.mjs runs it) or,
// with --js, for the pure JS await of bench/js/w5-js.mjs.
//
//   node --single-threaded-gc bench/js/w5-warmup.mjs [--js] [N] [BLOCK]
//       (after bench/build.sh; N = 20,000 and BLOCK = 1,000 by default)
//
// Prints one JSON line: {"variant", "ops" (N), "ns" (the whole run), "check"
// (round trips answered right), "block", "us_per_trip": [...]}; the bench
// smoke runs it with a tiny N (W5's tools, bench/driver/workloads.mjs).
// Timing is per block, from the ping function itself, so each
// block's figure includes everything between two of its calls (the host's
// JS, wasm, the promise machinery, garbage collection and any compiling V8
// does on this thread). A figure for reading, not a target: it moves by tens
// of percent between runs, with when V8's optimised code arrives.
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { load } from '../../js/src/node.mjs';

const argv = process.argv.slice(2);
const pureJs = argv[0] === '--js';
const [n = 20000, block = 1000] = argv.slice(pureJs ? 1 : 0).map(Number);
if (!(n > 0 && block > 0 && n % block === 0)) {
  console.error('usage: w5-warmup.mjs [--js] [N] [BLOCK]   (N a multiple of BLOCK)');
  process.exit(2);
}

const perTrip = [];
let calls = 0;
let blockStart = 0;
const ping = async (x) => {
  if (++calls % block === 0) {
    const now = performance.now();
    perTrip.push(Number((((now - blockStart) * 1000) / block).toFixed(3)));
    blockStart = now;
  }
  return x + 1;
};

let ok = 0;
let start = 0;
if (pureJs) {
  start = blockStart = performance.now();
  for (let i = 0; i < n; i++) if ((await ping(i)) === i + 1) ok++;
} else {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const file = path.join(root, 'build/bench/js/w5_roundtrip.wasm');
  const rt = await load(file, { args: ['w5_roundtrip', String(n)], stdout: () => {} });
  rt.register('ping', ping);
  start = blockStart = performance.now();
  const code = await rt.main();
  rt.close();
  if (code === 0) ok = calls;
}
const totalMs = performance.now() - start;
if (ok !== n) {
  console.error(`w5-warmup: ${ok} of ${n} round trips answered right`);
  process.exit(1);
}
console.log(JSON.stringify({
  variant: pureJs ? 'pure JS await' : 'tideloop JS host',
  ops: n,
  ns: Math.round(totalMs * 1e6),
  check: ok,
  block,
  us_per_trip: perTrip,
}));
