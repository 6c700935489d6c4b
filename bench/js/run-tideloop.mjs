// run-tideloop.mjs: run a tideloop benchmark module on the JS host (the npm
// package in js/, as a user loads it), with the host functions the benchmarks
// call, and pass its one result line through.
//
//   node bench/js/run-tideloop.mjs MODULE.wasm [ARGS...]
//
// Host functions: "ping"(x) resolves x + 1 (W5: an async function, the same
// one bench/js/w5-js.mjs awaits from JS); "sleep"(ms) resolves after ms (W7).
// After the program's own lines it prints {"host": rt.stats}, the host's exact
// counters (ticks, host calls, completions), which RESULTS.md shows to explain
// the JS host's costs. The exit status is the program's.
import path from 'node:path';
import process from 'node:process';
import { load } from '../../js/src/node.mjs';

const [file, ...args] = process.argv.slice(2);
const lines = [];
const rt = await load(file, {
  args: [path.basename(file, '.wasm'), ...args],
  stdout: (line) => lines.push(line),
});
rt.register('ping', async (x) => x + 1);
rt.register('sleep', (ms) => new Promise((resolve) => setTimeout(resolve, ms)));
const code = await rt.main();
rt.close();
for (const line of lines) console.log(line);
console.log(JSON.stringify({ host: rt.stats }));
process.exitCode = code;
