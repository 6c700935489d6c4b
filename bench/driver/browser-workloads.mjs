// browser-workloads.mjs: the browser workloads of issue 13 as data, in the
// shape of workloads.mjs (so stats, summary and report treat them alike), one
// workload per engine: B-W1-1-chromium, B-W5-firefox, ... Each run names a
// variant of examples/browser/variants.mjs, which times itself inside the page
// and checks its result; bench/browser/driver.mjs runs all of a workload's
// variants in one fresh page per round. `--only B-W5` picks both engines,
// `--only B-W5-firefox` one, `--only B` every browser workload.

export const ENGINE_NAMES = ['chromium', 'firefox'];
const TITLES = { chromium: 'Chromium', firefox: 'Firefox' };

/** Where each engine is (Debian's packages); TIDE_CHROMIUM / TIDE_FIREFOX override. */
export const BROWSER_EXECUTABLES = {
  chromium: { path: process.env.TIDE_CHROMIUM ?? '/usr/bin/chromium', package: 'chromium' },
  firefox: { path: process.env.TIDE_FIREFOX ?? '/usr/bin/firefox-esr', package: 'firefox-esr' },
};

/** The groups (driver/availability.mjs): an engine, and the Emscripten builds in it. */
export const browserGroup = (engine) => `browser: ${engine}`;
export const emccGroup = (engine) => `browser: ${engine}, Emscripten builds`;

/** W4's N, and the N the JSPI ceiling search tries in turn (driver.ceiling). */
export const W4_NS = [1000, 10000, 100000, 1000000];
export const CEILING_NS = [1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];
export const CEILING_LIMIT_MS = 20000;

const k = (n) => (n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`);
const same = (ops) => (r, n) => r.ops === ops(n) && r.check === n;

function workloads(engine) {
  const t = TITLES[engine];
  const group = browserGroup(engine);
  const run = (variant, label, extra = {}) => ({ id: variant, variant, label, group, ...extra });
  const chains = (count) => ({
    id: `B-W1-${count}-${engine}`,
    title: `B-W1 (${t}): ${count === 1 ? 'one chain' : `${count} chains`} of callbacks, each scheduling the next`,
    unit: 'ns/callback',
    n: 1_000_000,
    smokeN: 2000,
    notes: `In one ${t} page: tideloop's bench/c/w1_chains.c on the JS host (\`tide_call_soon\` from ` +
      'inside the callback), loaded with the package\'s `load()`, against `Promise.resolve().then(next)` ' +
      'chains (microtasks).',
    browser: { engine, workload: `W1-${count}` },
    runs: [run('tide', 'tideloop (tide_call_soon)'), run('js', 'pure JS: Promise.resolve().then')],
    ratios: [['tide', 'js']],
    headline: [['tide', 'js']],
    expect: same((n) => n),
  });
  const w4runs = [];
  const w4ratios = [];
  for (const n of W4_NS) {
    w4runs.push(run(`tide-${k(n)}`, `tideloop, N = ${n.toLocaleString('en-US')}`, { variant: 'tide', n }),
      run(`jspi-${k(n)}`, `JSPI, N = ${n.toLocaleString('en-US')}`, { variant: 'jspi', n, jspi: true }),
      run(`js-${k(n)}`, `pure JS, N = ${n.toLocaleString('en-US')}`, { variant: 'js', n }));
    w4ratios.push([`tide-${k(n)}`, `jspi-${k(n)}`], [`tide-${k(n)}`, `js-${k(n)}`]);
  }
  /* B-W5's variants; B-W5-1M runs them but ASYNCIFY. */
  const w5runs = [
    run('tide', 'tideloop: tide_host_call + TIDE_AWAIT'),
    run('jspi', 'JSPI: C loop over a Suspending import'),
    run('js', 'pure JS: await in an async function'),
    run('asyncify', 'Emscripten ASYNCIFY (EM_ASYNC_JS)', { group: emccGroup(engine) }),
    run('callback', 'hand-written callback (no runtime)', { group: emccGroup(engine) }),
  ];
  /* Smoke: each variant once, at the smallest N. */
  for (const r of w4runs) r.smoke = r.n === W4_NS[0];
  return [
    chains(1),
    chains(1000),
    {
      id: `B-W3-yield-${engine}`,
      title: `B-W3 (${t}): two tasks taking turns (ns per switch)`,
      unit: 'ns/switch',
      n: 1_000_000,
      smokeN: 1000,
      notes: `In one ${t} page: bench/c/w3_switch.c \`yield\` (two tasks, each \`TIDE_YIELD\`s N times) ` +
        'against two async functions each doing `await null` N times (a microtask switch).',
      browser: { engine, workload: 'W3-yield' },
      runs: [run('tide', 'tideloop (TIDE_YIELD)'), run('js', 'pure JS: two async functions, await null')],
      ratios: [['tide', 'js']],
      headline: [['tide', 'js']],
      expect: same((n) => 2 * n),
    },
    {
      id: `B-W4-${engine}`,
      title: `B-W4 (${t}): N concurrent tasks each sleeping 10 ms (ns per task = total time / N)`,
      unit: 'ns/task',
      n: W4_NS[0],
      smokeN: 100,
      notes: `In one ${t} page per round, every N: tideloop's bench/c/w4_sleepers.c (N detached C tasks, ` +
        '`TIDE_SLEEP(10)`, on the host\'s timers); JSPI: N calls of a `WebAssembly.promising` export ' +
        'started at once, each a plain C function awaiting a 10 ms `setTimeout` promise through a ' +
        '`WebAssembly.Suspending` import (bench/browser/jspi.c), so each holds a suspended wasm stack; ' +
        'pure JS: N async functions each awaiting the same sleep. The clock runs from the first start to ' +
        'the last end. JSPI runs only up to its ceiling (below). Linear memory/task: growth of ' +
        'tideloop\'s wasm memory over the run, per task (it never shrinks: the peak). JS heap/task ' +
        '(Chromium only, `performance.memory` with --enable-precise-memory-info, after gc()): growth of the ' +
        'JS heap once all N are started (tideloop: at the end of the run, so ~0 means nothing per task is ' +
        'kept on the JS side); JSPI\'s stacks are outside the JS heap: see the ceiling table\'s RSS. ' +
        'The time per task includes the sleep: at N tasks it is at least 10 ms / N (1,000 ns at N = ' +
        '10,000, 500 ns at 20,000), so against JSPI\'s 35-40 us per task near its ceiling no variant can ' +
        'come out more than 35-80 times cheaper by this measure, whatever a task costs.',
      browser: { engine, workload: 'W4' },
      runs: w4runs,
      ratios: w4ratios,
      extras: [
        ['total_ms', 'total ms', (r) => r.ns / 1e6],
        ['linear', 'linear memory/task (bytes)', (r) => r.mem_per_task],
        ['heap', 'JS heap/task (bytes)', (r) => r.heap_per_task],
      ],
      expect: same((n) => n),
      ceiling: { ns: CEILING_NS, limitMs: CEILING_LIMIT_MS },
    },
    {
      id: `B-W5-${engine}`,
      title: `B-W5 (${t}): a C task awaits a JS Promise (async (x) => x + 1), round trip`,
      unit: 'ns/round trip',
      n: 20000,
      smokeN: 100,
      notes: `In one ${t} page, every variant awaits the same \`async (x) => x + 1\` N times in a row and ` +
        'checks each answer. tideloop: bench/c/w5_roundtrip.c (`tide_host_call("ping")` + `TIDE_AWAIT`) ' +
        'on the JS host, loaded with the package\'s `load()`. JSPI: a plain C loop calling the function ' +
        'through a `WebAssembly.Suspending` import, the loop\'s export wrapped in `WebAssembly.promising` ' +
        '(bench/browser/jspi.c, clang, no runtime). Pure JS: `await ping(i)` in a loop. ASYNCIFY: ' +
        'bench/emcc/w5_asyncify.c built with Emscripten\'s web glue (emcc -O2 -sASYNCIFY ' +
        '-sENVIRONMENT=web -sMODULARIZE -sEXPORT_ES6). Hand-written callback: bench/emcc/w5_callback.c, ' +
        'no runtime on either side.',
      browser: { engine, workload: 'W5' },
      runs: w5runs,
      /* The callback's own ratios show where the floor of a design that resumes C
       * from a promise reaction through an export call lies against the targets
       * (W5's "what is left"). */
      ratios: [['tide', 'jspi'], ['tide', 'js'], ['tide', 'asyncify'], ['tide', 'callback'], ['jspi', 'js'],
        ['callback', 'jspi'], ['callback', 'js']],
      headline: [['tide', 'jspi'], ['tide', 'js'], ['tide', 'asyncify'], ['callback', 'jspi'], ['callback', 'js']],
      expect: same((n) => n),
    },
    {
      /* As W5 in Node: at N = 20,000 much of tideloop's time is the engine
       * compiling the JS host's path, so the variants also run 1M round trips,
       * where that is a few percent. A workload of its own, so each round's
       * page starts cold: in B-W5's page these would warm the JIT for the
       * runs at 20,000 that follow them in alternate rounds. The targets
       * stay on B-W5. (ASYNCIFY, 1.5-3.6 us a round trip, only there.) */
      id: `B-W5-1M-${engine}`,
      title: `B-W5 at 1M (${t}): the same round trip, 1M times (steady state)`,
      unit: 'ns/round trip',
      n: 1_000_000,
      smokeN: 100,
      notes: `B-W5's variants in one ${t} page per round, each running 1M round trips.`,
      browser: { engine, workload: 'W5' },
      runs: w5runs.filter((r) => r.id !== 'asyncify'),
      ratios: [['tide', 'jspi'], ['tide', 'js'], ['tide', 'callback'], ['callback', 'jspi']],
      headline: [['tide', 'jspi'], ['tide', 'js']],
      expect: same((n) => n),
    },
  ];
}

export const BROWSER_WORKLOADS = ENGINE_NAMES.flatMap(workloads);
