// variants.mjs: the browser workloads of issue 13, each as tideloop and as its
// peers, for one page: the benchmark page (bench/browser/page.html, driven by
// bench/browser/driver.mjs) and the comparison demo (compare.html) run the same
// code on the same modules.
//
//   const v = await makeVariants({ base: '/build/bench/' });
//   const r = await v.run('W5', 'tide', 20000);   // {ops, ns, check, ...}
//
// Every run times itself from its first operation to its last (performance.now,
// whose resolution is 5-100 us in Chromium and 20 us-1 ms in Firefox: hence the
// large N) and checks its own result; a wrong result throws instead of giving a
// number. Modules, as bench/build.sh builds them under build/bench/:
//   js/NAME.wasm           tideloop's bench/c/NAME.c for the JS host, run with
//                          the package's load() (js/src/index.mjs), as a user would
//   browser/jspi.wasm      bench/browser/jspi.c: plain C over JSPI imports
//   browser/w5_asyncify.mjs  bench/emcc/w5_asyncify.c, emcc -sASYNCIFY, web glue
//   emcc/w5_callback.wasm  bench/emcc/w5_callback.c: a hand-written callback
import { load } from '/js/src/index.mjs';

/** The function every W5 variant awaits. */
export const ping = async (x) => x + 1;
/** W4's sleep, for every variant (tideloop's C sleeps on its own timers). */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const now = () => performance.now();
const nsSince = (t0) => Math.round((now() - t0) * 1e6);

/** JS heap in use (Chromium's performance.memory; precise with
 * --enable-precise-memory-info), or undefined (Firefox). */
export const jsHeap = () => performance.memory?.usedJSHeapSize;

function check(cond, what) {
  if (!cond) throw new Error(`FAIL: ${what}`);
}

/** Whether this engine has standard JSPI. */
export const hasJspi = () => typeof WebAssembly.Suspending === 'function' &&
  typeof WebAssembly.promising === 'function';

/** {workload: {variant: label}}: what each workload runs, in this order. */
export const VARIANTS = {
  'W1-1': { tide: 'tideloop (tide_call_soon)', js: 'pure JS: Promise.resolve().then chain' },
  'W1-1000': { tide: 'tideloop (tide_call_soon)', js: 'pure JS: Promise.resolve().then chains' },
  'W3-yield': { tide: 'tideloop (TIDE_YIELD)', js: 'pure JS: two async functions, await null' },
  W4: { tide: 'tideloop (tasks, TIDE_SLEEP)', jspi: 'JSPI: promising calls, Suspending sleep',
    js: 'pure JS: async functions awaiting a sleep' },
  W5: { tide: 'tideloop: tide_host_call + TIDE_AWAIT', jspi: 'JSPI: C loop over a Suspending import',
    js: 'pure JS: await in an async function', asyncify: 'Emscripten ASYNCIFY (EM_ASYNC_JS)',
    callback: 'hand-written callback (no runtime)' },
};

/**
 * Make the runners. base: where build/bench/ is served. Modules are compiled
 * once per page and instantiated per run (tideloop: one load() per run, as a
 * program is run once).
 */
export async function makeVariants({ base = '/build/bench/' } = {}) {
  const compiled = new Map();
  const compile = (path) => {
    if (!compiled.has(path)) {
      compiled.set(path, WebAssembly.compileStreaming(fetch(base + path)).catch((e) => {
        compiled.delete(path);
        throw new Error(`${base + path}: ${e.message}`);
      }));
    }
    return compiled.get(path);
  };

  /* A tideloop benchmark program on the JS host: the result line it prints. */
  async function tide(name, args) {
    const module = await compile(`js/${name}.wasm`);
    const out = [];
    const err = [];
    const rt = await load(module, {
      args: [name, ...args.map(String)], stdout: (l) => out.push(l), stderr: (l) => err.push(l),
    });
    rt.register('ping', ping);
    rt.register('sleep', sleep);
    let code;
    try {
      code = await rt.main();
    } finally {
      rt.close();
    }
    check(code === 0, `${name} exited ${code}: ${err.join(' | ')}`);
    const line = out.find((l) => l.startsWith('{'));
    check(line !== undefined, `${name} printed no result: ${out.join(' | ')}`);
    return { ...JSON.parse(line), host: { ...rt.stats } };
  }

  /* JSPI: jspi.wasm with both imports Suspending, both exports promising. */
  async function jspi() {
    check(hasJspi(), 'this engine has no JSPI (WebAssembly.Suspending)');
    const module = await compile('browser/jspi.wasm');
    const instance = await WebAssembly.instantiate(module, {
      env: { ping: new WebAssembly.Suspending(ping), sleep: new WebAssembly.Suspending(sleep) },
    });
    return {
      w5: WebAssembly.promising(instance.exports.w5_loop),
      w4: WebAssembly.promising(instance.exports.w4_sleeper),
    };
  }

  /* W4 for the JS-side variants: start n at once (synchronously), read the JS
   * heap once all are started, await them all. */
  async function sleepers(n, start, sleepMs) {
    const heap0 = jsHeap();
    const t0 = now();
    const all = new Array(n);
    for (let i = 0; i < n; i++) all[i] = start(sleepMs);
    const heap1 = jsHeap();
    const done = (await Promise.all(all)).reduce((a, b) => a + b, 0);
    const ns = nsSince(t0);
    check(done === n, `${done} sleepers finished, expected ${n}`);
    return { ops: n, ns, check: done, heap_per_task: heap0 === undefined ? undefined : (heap1 - heap0) / n };
  }

  const runners = {
    'W1-1': {
      tide: (n) => tide('w1_chains', [1, n]),
      js: (n) => chainsJs(1, n),
    },
    'W1-1000': {
      tide: (n) => tide('w1_chains', [1000, n]),
      js: (n) => chainsJs(1000, n),
    },
    'W3-yield': {
      tide: (n) => tide('w3_switch', ['yield', n]),
      async js(n) {
        const turns = async () => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += (await null) === null ? 1 : 0;
          return sum;
        };
        const t0 = now();
        const sums = await Promise.all([turns(), turns()]);
        const ns = nsSince(t0);
        check(sums[0] + sums[1] === 2 * n, `${sums} awaits succeeded, expected ${n} each`);
        return { ops: 2 * n, ns, check: sums[0] };
      },
    },
    W4: {
      /* The C program reports linear memory growth per task (mem_per_task). */
      async tide(n) {
        const heap0 = jsHeap();
        const r = await tide('w4_sleepers', [n]);
        return { ...r, heap_per_task: heap0 === undefined ? undefined : (jsHeap() - heap0) / n };
      },
      async jspi(n, { sleepMs = 10 } = {}) {
        const { w4 } = await jspi();
        return sleepers(n, w4, sleepMs);
      },
      js: (n, { sleepMs = 10 } = {}) => sleepers(n, async (ms) => {
        await sleep(ms);
        return 1;
      }, sleepMs),
    },
    W5: {
      tide: (n) => tide('w5_roundtrip', [n]),
      async jspi(n) {
        const { w5 } = await jspi();
        const t0 = now();
        const ok = await w5(n);
        const ns = nsSince(t0);
        check(ok === n, `${ok} of ${n} pings answered right`);
        return { ops: n, ns, check: ok };
      },
      async js(n) {
        let ok = 0;
        const t0 = now();
        for (let i = 0; i < n; i++) if ((await ping(i)) === i + 1) ok++;
        const ns = nsSince(t0);
        check(ok === n, `${ok} of ${n} pings answered right`);
        return { ops: n, ns, check: ok };
      },
      asyncify: (n) => asyncify(n),
      async callback(n) {
        const module = await compile('emcc/w5_callback.wasm');
        let exports;
        let finish;
        const finished = new Promise((resolve) => {
          finish = resolve;
        });
        const instance = await WebAssembly.instantiate(module, {
          bench: {
            ping: (x) => {
              ping(x).then((v) => exports.on_pong(v));
            },
            done: (ok) => finish([now(), ok]),
          },
        });
        exports = instance.exports;
        exports._initialize?.();
        const t0 = now();
        exports.start(n);
        const [t1, ok] = await finished;
        check(ok === n, `${ok} of ${n} pings answered right`);
        return { ops: n, ns: Math.round((t1 - t0) * 1e6), check: ok };
      },
    },
  };

  /* W1 in JS: chains of Promise.resolve().then(next), as bench/peers/node_chains.mjs. */
  async function chainsJs(chains, total) {
    let ran = 0;
    let live = chains;
    const t0 = now();
    await new Promise((resolve) => {
      for (let c = 0; c < chains; c++) {
        let left = total / chains;
        const step = () => {
          ran++;
          if (--left > 0) Promise.resolve().then(step);
          else if (--live === 0) resolve();
        };
        Promise.resolve().then(step);
      }
    });
    const ns = nsSince(t0);
    check(ran === total, `${ran} callbacks ran, expected ${total}`);
    return { ops: total, ns, check: ran };
  }

  /* ASYNCIFY: the Emscripten web build (MODULARIZE, ES module) runs main with
   * argv [n] once per instance. Its last act is to print the result line (or
   * "FAIL: ..." on stderr): that is the end of the run. (Module.onExit is not
   * called in a page: after an async main the runtime counts itself as kept
   * alive, so exit() skips it.) */
  async function asyncify(n) {
    const url = new URL(`${base}browser/w5_asyncify.mjs`, location.href).href;
    const factory = (await import(url)).default;
    const line = await new Promise((resolve, reject) => {
      factory({
        arguments: [String(n)],
        print: (l) => {
          if (l.startsWith('{')) resolve(l);
        },
        printErr: (l) => {
          if (l.startsWith('FAIL')) reject(new Error(`w5_asyncify: ${l}`));
        },
        onAbort: (why) => reject(new Error(`w5_asyncify aborted: ${why}`)),
      }).catch(reject);
    });
    return JSON.parse(line);
  }

  return {
    /** Run one variant of one workload once: {ops, ns, check, ...}. */
    run(workload, variant, n, opts = {}) {
      const fn = runners[workload]?.[variant];
      if (!fn) throw new Error(`no variant ${variant} of ${workload}`);
      return fn(n, opts);
    },
  };
}
