// v8-flags-probe.mjs: one browser variant (examples/browser/variants.mjs) in
// headless Chromium under several sets of V8 flags, to see what part of its
// time a V8 mechanism costs: wasm tier-up (--no-liftoff
// --no-wasm-lazy-compilation compiles all wasm with TurboFan before the run),
// TurboFan's inlining (--max-inlined-bytecode-size-cumulative=100), and so on.
// No page can set these flags: this explains a figure, it is no way to run.
//
//   node bench/browser/v8-flags-probe.mjs [--workload W5] [--variant tide] [--n 20000]
//        [--rounds 5] -- FLAGS_A FLAGS_B ...
//
// Each FLAGS is one argument ('' for none), added to Chromium's --js-flags
// (engines.mjs launch). Every run starts a fresh browser (flags are per
// process), the sets take turns in each round, and the output is one line per
// set: the median ns per op and every round's figure. After bench/build.sh
// (bench/browser/build.sh builds the page's modules).
import { BrowserBench } from './driver.mjs';
import { parseOptions } from './tool-options.mjs';

const USAGE = 'node v8-flags-probe.mjs [--workload W] [--variant V] [--n N] [--rounds R] -- FLAGS...';
const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  console.error(`usage: ${USAGE}`);
  process.exit(2);
}
const opt = parseOptions(argv.slice(0, sep), { workload: 'W5', variant: 'tide', n: 20000, rounds: 5 }, USAGE);
const flagSets = argv.slice(sep + 1);

const perOp = flagSets.map(() => []);
for (let r = 0; r < opt.rounds; r++) {
  for (let i = 0; i < flagSets.length; i++) {
    const bench = new BrowserBench({ jsFlags: flagSets[i] });
    try {
      const out = await bench.round('chromium', opt.workload,
        [{ id: opt.variant, variant: opt.variant, n: opt.n }], { timeoutMs: 300_000 });
      const res = out[opt.variant];
      if (!res || res.error || !(res.ns > 0)) {
        throw new Error(`flags '${flagSets[i]}': ${res?.error ?? 'no result'}`);
      }
      perOp[i].push(res.ns / opt.n);
    } finally {
      await bench.close();
    }
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`${opt.workload} ${opt.variant}, N = ${opt.n}, ${opt.rounds} rounds, ns per op:`);
flagSets.forEach((f, i) => {
  console.log(`  ${JSON.stringify(f).padEnd(50)} median ${median(perOp[i]).toFixed(0).padStart(6)}` +
    `   rounds: ${perOp[i].map((x) => x.toFixed(0)).join(' ')}`);
});
