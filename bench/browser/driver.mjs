// driver.mjs: runs the browser workloads (bench/driver/browser-workloads.mjs)
// for bench/run.mjs: one static server (server.mjs), each engine started once
// and kept (engines.mjs), and for every workload of every round a fresh page of
// page.html in which all of the workload's variants run back to back, so the
// two sides of a ratio share the page, the engine and the moment.
//
//   const b = new BrowserBench();
//   const results = await b.round('chromium', 'W5', [{id, variant, n}], {timeoutMs});
//   const steps = await b.ceiling('chromium', {limitMs: 20000});
//   await b.close();
import { readFileSync, readdirSync } from 'node:fs';
import { launch } from './engines.mjs';
import { startServer } from './server.mjs';

const PAGE = '/bench/browser/page.html';

/* Resident bytes of a process and all its descendants (Linux /proc): the
 * browser with its renderer / content processes. */
function treeRss(pid) {
  if (!pid) return undefined;
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  let bytes = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop();
    try {
      bytes += Number(readFileSync(`/proc/${p}/statm`, 'utf8').split(' ')[1]) * 4096;
    } catch {
      /* gone meanwhile */
    }
    todo.push(...(children.get(p) ?? []));
  }
  return bytes;
}

const timeout = (ms, what) => new Promise((_, reject) => {
  setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms).unref();
});

export class BrowserBench {
  #server = null;
  #engines = new Map(); /* name -> Promise<engine> */
  #launchOptions;

  /** launchOptions: what engines.mjs launch() adds to every engine this
   * starts ({jsFlags, env}); none for the benchmarks. */
  constructor(launchOptions = {}) {
    this.#launchOptions = launchOptions;
  }

  async #engine(name) {
    this.#server ??= await startServer();
    if (!this.#engines.has(name)) {
      const p = launch(name, this.#launchOptions);
      this.#engines.set(name, p);
      p.catch(() => this.#engines.delete(name));
    }
    return this.#engines.get(name);
  }

  /** "Chromium 156.0..." once started. */
  async version(name) {
    return (await this.#engine(name)).version;
  }

  /* A wedged page (a run past its bound): the browser goes, and the next call
   * starts it anew. */
  async #drop(name) {
    const e = await this.#engines.get(name)?.catch(() => null);
    this.#engines.delete(name);
    if (!e) return;
    await Promise.race([e.close(), new Promise((r) => setTimeout(r, 5000))]);
    e.kill();
  }

  async #page(name) {
    const e = await this.#engine(name);
    const page = await e.open(this.#server.url + PAGE);
    await page.waitForFunction(() => window.bench?.ready === true, { timeout: 30_000 });
    return { e, page };
  }

  /**
   * One round of one workload in one engine: a fresh page, every run in it in
   * the order given. Returns {runId: result or {error}}. A run past timeoutMs
   * fails, and so does every run after it in that round (the browser is
   * restarted for the next).
   */
  async round(name, workload, runs, { timeoutMs = 120_000 } = {}) {
    const out = {};
    let page;
    try {
      ({ page } = await this.#page(name));
    } catch (err) {
      for (const r of runs) out[r.id] = { error: `page did not load: ${err.message}` };
      await this.#drop(name);
      return out;
    }
    for (let i = 0; i < runs.length; i++) {
      const r = runs[i];
      try {
        const res = await Promise.race([
          page.evaluate((w, v, n, o) => window.bench.run(w, v, n, o), workload, r.variant, r.n, r.opts ?? {}),
          timeout(timeoutMs, `${workload} ${r.variant} N=${r.n}`),
        ]);
        out[r.id] = res;
        if (res?.error && page.log.length) out[r.id].error += ` (page: ${page.log.slice(-2).join(' | ')})`;
      } catch (err) {
        out[r.id] = { error: err.message };
        for (const rest of runs.slice(i + 1)) out[rest.id] = { error: 'not run: an earlier run in the page failed' };
        await this.#drop(name);
        return out;
      }
    }
    await page.close().catch(() => {});
    return out;
  }

  /**
   * JSPI's ceiling in W4: N concurrent promising calls, each awaiting a 10 ms
   * sleep through a Suspending import, for N = each of `ns` in turn, each in a
   * fresh page and bounded by limitMs; it stops at the first N that does not
   * complete (time-out, error, crash). For each N: its ns per task, the JS heap
   * growth per task (Chromium) and the browser's resident memory growth per task
   * (all its processes, sampled every 20 ms: the suspended stacks are there).
   */
  async ceiling(name, { ns, limitMs = 20_000 } = {}) {
    const steps = [];
    for (const n of ns) {
      const step = { n };
      steps.push(step);
      let page;
      let e;
      try {
        ({ page, e } = await this.#page(name));
      } catch (err) {
        step.error = `page did not load: ${err.message}`;
        await this.#drop(name);
        break;
      }
      await new Promise((r) => setTimeout(r, 200)); /* let the fresh page settle */
      const rss0 = treeRss(e.pid);
      let peak = rss0;
      const poll = setInterval(() => {
        const now = treeRss(e.pid);
        if (now > peak) peak = now;
      }, 20);
      const t0 = Date.now();
      try {
        const res = await Promise.race([
          page.evaluate((n) => window.bench.run('W4', 'jspi', n), n),
          timeout(limitMs, `JSPI W4 N=${n}`),
        ]);
        if (res.error) step.error = res.error.split('\n')[0];
        else Object.assign(step, { nsPerTask: res.ns / res.ops, heapPerTask: res.heap_per_task });
      } catch (err) {
        step.error = err.message;
      } finally {
        clearInterval(poll);
      }
      /* The page's realm is gone (no window.bench, a closed target): its
       * renderer / content process died or was replaced mid-run. */
      if (/window\.bench is undefined|Target closed|detached/i.test(step.error ?? '')) {
        step.error = `the page died mid-run (its process crashed or was replaced): ${step.error}`;
      }
      step.wallMs = Date.now() - t0;
      if (rss0 !== undefined) step.rssPerTask = (peak - rss0) / n;
      if (step.error) {
        await this.#drop(name);
        break;
      }
      await page.close().catch(() => {});
    }
    const done = steps.filter((s) => !s.error);
    return { steps, ceiling: done.at(-1)?.n ?? 0, failedAt: steps.find((s) => s.error), limitMs };
  }

  async close() {
    for (const name of [...this.#engines.keys()]) await this.#drop(name);
    await this.#server?.close();
    this.#server = null;
  }
}
