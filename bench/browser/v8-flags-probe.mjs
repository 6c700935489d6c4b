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
// Each FLAGS is one argument ('' for none), given to Chromium as --js-flags
// beside --expose-gc. Every run starts a fresh browser (flags are per
// process), the sets take turns in each round, and the output is one line per
// set: the median ns per op and every round's figure. After bench/build.sh
// (bench/browser/build.sh builds the page's modules).
import { ENGINES } from './engines.mjs';
import { BrowserBench } from './driver.mjs';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0 || sep === argv.length - 1) {
  console.error('usage: node v8-flags-probe.mjs [--workload W] [--variant V] [--n N] [--rounds R] ' +
    '-- FLAGS...');
  process.exit(2);
}
const opt = { workload: 'W5', variant: 'tide', n: 20000, rounds: 5 };
for (let i = 0; i < sep; i += 2) {
  const key = argv[i].replace(/^--/, '');
  if (!(key in opt) || i + 1 >= sep) {
    console.error(`v8-flags-probe: unknown or incomplete option ${argv[i]}`);
    process.exit(2);
  }
  opt[key] = typeof opt[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}
const flagSets = argv.slice(sep + 1);
const base = ENGINES.chromium.args.filter((a) => !a.startsWith('--js-flags'));

const perOp = flagSets.map(() => []);
for (let r = 0; r < opt.rounds; r++) {
  for (let i = 0; i < flagSets.length; i++) {
    ENGINES.chromium.args = [...base, `--js-flags=--expose-gc ${flagSets[i]}`.trim()];
    const bench = new BrowserBench();
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
