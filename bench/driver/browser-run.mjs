// browser-run.mjs: run.mjs's side of the browser workloads: start the engines
// (bench/browser/driver.mjs, loaded only when a browser workload can run, since
// it needs puppeteer-core from bench/browser/node_modules), the smoke pass, and
// the JSPI ceiling search before the rounds.
import { spawnSync } from 'node:child_process';
import process from 'node:process';
import { browserGroup } from './browser-workloads.mjs';
import { ROOT } from './paths.mjs';

/** A page's answer as runProgram's {ok, result, error}. */
export function pageResult(r) {
  if (!r) return { ok: false, error: 'no answer from the page' };
  if (r.error) return { ok: false, error: r.error.split('\n')[0] };
  if (!Number.isFinite(r.ns) || !Number.isFinite(r.ops) || r.ops <= 0) {
    return { ok: false, error: `no result in ${JSON.stringify(r)}` };
  }
  return { ok: true, result: r, host: r.host };
}

const runnable = (w, why) => w.runs.some((run) => !why[run.group]);

/**
 * The browser driver, if any browser workload can run: {round, ceiling, close,
 * versions: {engine: version}}; else null.
 */
export async function startBrowsers(workloads, why) {
  if (!workloads.some((w) => runnable(w, why))) return null;
  const { BrowserBench } = await import('../browser/driver.mjs');
  const bb = new BrowserBench();
  const versions = {};
  /* Both start at once: a start is seconds (Firefox's most). */
  const engines = [...new Set(workloads.filter((w) => runnable(w, why)).map((w) => w.browser.engine))];
  await Promise.all(engines.map(async (engine) => {
    versions[engine] = await bb.version(engine);
  }));
  for (const engine of engines) console.log(`=== browser: ${engine}: ${versions[engine]}`);
  return {
    versions,
    round: (...a) => bb.round(...a),
    ceiling: (...a) => bb.ceiling(...a),
    close: () => bb.close(),
  };
}

/** Each browser workload's runs once, at its smoke N, results checked. */
export async function smokeBrowser(workloads, why) {
  const count = { passed: 0, failed: 0, skipped: 0 };
  const browser = await startBrowsers(workloads, why);
  try {
    for (const w of workloads) {
      const runs = w.runs.filter((run) => run.smoke !== false);
      for (const run of runs.filter((r) => why[r.group])) {
        count.skipped++;
        console.log(`SKIP ${w.id} ${run.id}: ${why[run.group]}`);
      }
      const todo = runs.filter((r) => !why[r.group]);
      if (!todo.length) continue;
      const n = w.smokeN;
      const results = await browser.round(w.browser.engine, w.browser.workload,
        todo.map((run) => ({ id: run.id, variant: run.variant, n })), { timeoutMs: 30000 });
      for (const run of todo) {
        const r = pageResult(results[run.id]);
        const good = r.ok && w.expect(r.result, n);
        count[good ? 'passed' : 'failed']++;
        console.log(`${good ? 'ok  ' : 'FAIL'} ${w.id} ${run.id} (N=${n})${good ? '' : `: ${r.error ?? `wrong result ${JSON.stringify(r.result)}`}`}`);
      }
    }
  } finally {
    await browser?.close();
  }
  return count;
}

/* The browser tools, which explain figures rather than make them: only the
 * smoke runs them, once each with a tiny workload, so that they keep working.
 * Each must exit 0 and print what it exists to print. */
const BROWSER_TOOLS = [
  { id: 'v8-flags-probe', group: browserGroup('chromium'),
    argv: ['bench/browser/v8-flags-probe.mjs', '--n', '100', '--rounds', '1', '--', '', '--no-liftoff'],
    expect: /"--no-liftoff"\s+median\s+\d+/ },
  /* Enough round trips (tens of ms) for the 0.5 ms sampling to see both the
   * host's JS (named with its file under js/src) and the module's wasm. */
  { id: 'gecko-profile', group: browserGroup('firefox'),
    argv: ['bench/browser/gecko-profile.mjs', '--n', '50000', '--top', '30'],
    expect: /in its code[\s\S]*\(js\/src\/\S+\.mjs:\d+[\s\S]*wasm-function\[/ },
];

/** The browser tools' smoke: {passed, failed, skipped}. */
export function smokeBrowserTools(why) {
  const count = { passed: 0, failed: 0, skipped: 0 };
  for (const tool of BROWSER_TOOLS) {
    if (why[tool.group]) {
      count.skipped++;
      console.log(`SKIP tool ${tool.id}: ${why[tool.group]}`);
      continue;
    }
    const r = spawnSync(process.execPath, tool.argv, { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    const good = r.status === 0 && tool.expect.test(r.stdout);
    count[good ? 'passed' : 'failed']++;
    const detail = r.error?.message ??
      `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')}`;
    console.log(`${good ? 'ok  ' : 'FAIL'} tool ${tool.id}${good ? '' : `: ${detail}`}`);
  }
  return count;
}

/**
 * For each W4 browser workload that runs JSPI: the ceiling search (driver
 * ceiling()); JSPI runs above the ceiling are skipped, with the reason.
 * Returns {workloadId: {steps, ceiling, failedAt, limitMs}}.
 */
export async function findCeilings(browser, workloads, raws) {
  const out = {};
  for (const w of workloads) {
    if (!w.ceiling || !browser) continue;
    const raw = raws[w.id];
    const jspiRuns = w.runs.filter((run) => run.jspi && !raw.skipped[run.id]);
    if (!jspiRuns.length) continue;
    console.log(`=== ${w.id}: JSPI's ceiling (N concurrent promising calls, each bounded by ${w.ceiling.limitMs / 1000} s)`);
    const c = await browser.ceiling(w.browser.engine, w.ceiling);
    out[w.id] = c;
    for (const s of c.steps) {
      console.log(`  N=${String(s.n).padStart(8)} ${s.error ? `STOP: ${s.error}` : `${s.nsPerTask.toFixed(0)} ns/task`}` +
        `${Number.isFinite(s.rssPerTask) ? `, RSS +${Math.round(s.rssPerTask)} B/task` : ''}`);
    }
    for (const run of jspiRuns) {
      if (run.n > c.ceiling) {
        raw.skipped[run.id] = c.failedAt
          ? `above JSPI's ceiling (N = ${c.failedAt.n.toLocaleString('en-US')} did not complete: ${c.failedAt.error})`
          : `above the largest N the ceiling search tried (${c.ceiling.toLocaleString('en-US')})`;
      }
    }
  }
  return out;
}
