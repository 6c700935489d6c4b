// run.mjs: run the benchmarks of issue 6 and write bench/RESULTS.md (or, with
// --smoke, run each once with a tiny N and only check results). bench/run.sh
// builds everything first; run this directly only on a built tree.
//
//   node bench/run.mjs [--smoke] [--rounds N] [--only W1-1,W2,...] [--out FILE]
//                      [--no-profile] [--scale F]
//
// --only takes workload ids or their prefixes: W1 is W1-1 and W1-1000; the
// browser workloads (issue 13, driver/browser-workloads.mjs) are B-W1-1-chromium
// ... B-W5-firefox, so B-W5 is W5 in both engines and B every browser workload.
// They run in headless Chromium and Firefox through bench/browser/driver.mjs.
//
// --scale F multiplies every N (rounded to a multiple of 1000, at least the
// smoke N): for trying the driver quickly; the file then says so. With --only
// or --scale and no --out, the file is build/bench/RESULTS-partial.md.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { checkBrowserGroups, checkGroups } from './driver/availability.mjs';
import { BROWSER_WORKLOADS } from './driver/browser-workloads.mjs';
import { runProgram } from './driver/exec.mjs';
import { describeMachine, loadAverage } from './driver/machine.mjs';
import { callgrind, cpuProfile } from './driver/profile.mjs';
import { renderResults } from './driver/report.mjs';
import { ROOT } from './driver/paths.mjs';
import { measureW7 } from './driver/sizes.mjs';
import { summarize } from './driver/summary.mjs';
import { WORKLOADS } from './driver/workloads.mjs';
import { findCeilings, pageResult, smokeBrowser, smokeBrowserTools, startBrowsers } from './driver/browser-run.mjs';

function parseArgs(argv) {
  const o = {
    smoke: false, rounds: 7, only: null, out: path.join(ROOT, 'bench/RESULTS.md'), profile: true, scale: 1,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') o.smoke = true;
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--only') o.only = new Set(argv[++i].split(','));
    else if (a === '--out') o.out = path.resolve(argv[++i]);
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--scale') o.scale = Number(argv[++i]);
    else {
      console.error(`run.mjs: unknown argument ${a}`);
      process.exit(2);
    }
  }
  if (!(o.rounds >= 1)) o.rounds = 7;
  /* A subset or a trial must not overwrite the full results. */
  if ((o.only || o.scale !== 1) && !argv.includes('--out')) {
    o.out = path.join(ROOT, 'build/bench/RESULTS-partial.md');
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const picked = (w) => !opts.only || [...opts.only].some((x) => w.id === x || w.id.startsWith(`${x}-`));
const workloads = WORKLOADS.filter(picked);
const browserWorkloads = BROWSER_WORKLOADS.filter(picked);
const wantW7 = !opts.only || opts.only.has('W7');
const why = { ...checkGroups(), ...(browserWorkloads.length ? checkBrowserGroups() : {}) };
const skippedGroups = Object.entries(why).filter(([, v]) => v);
for (const [g, reason] of skippedGroups) {
  console.log(`!!! SKIPPING every ${g} run: ${reason}`);
}

const label = (w, id) => {
  const run = w.runs.find((r) => r.id === id);
  return run ? run.label.replace(/ \(.*\)$/, '') : id;
};

/* --- Smoke: each benchmark once, tiny N, correctness only ------------------- */
if (opts.smoke) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const t0 = Date.now();
  for (const w of workloads) {
    /* And its tools (workloads.mjs), which only the smoke runs. */
    for (const run of [...w.runs, ...(w.tools ?? [])]) {
      const expect = w.runs.includes(run) ? w.expect : w.toolExpect;
      if (why[run.group]) {
        skipped++;
        console.log(`SKIP ${w.id} ${run.id}: ${why[run.group]}`);
        continue;
      }
      const n = w.smokeN;
      const r = runProgram(run.argv(n), { timeoutMs: 30000 });
      if (r.skip) {
        skipped++;
        console.log(`SKIP ${w.id} ${run.id}: ${r.skip}`);
        continue;
      }
      const good = r.ok && expect(r.result, n);
      if (good) passed++;
      else failed++;
      console.log(`${good ? 'ok  ' : 'FAIL'} ${w.id} ${run.id} (N=${n})${good ? '' : `: ${r.error ?? `wrong result ${JSON.stringify(r.result)}`}`}`);
    }
  }
  const b = await smokeBrowser(browserWorkloads, why);
  passed += b.passed;
  failed += b.failed;
  skipped += b.skipped;
  if (browserWorkloads.length) {
    const t = smokeBrowserTools(why);
    passed += t.passed;
    failed += t.failed;
    skipped += t.skipped;
  }
  if (wantW7) {
    const w7 = measureW7({ smoke: true });
    if (w7.skip) {
      skipped++;
      console.log(`SKIP W7 sizes: ${w7.skip}`);
    } else {
      if (w7.error) failed++;
      else passed++;
      console.log(`${w7.error ? 'FAIL' : 'ok  '} W7 sizes${w7.error ? `: ${w7.error}` : ` (tideloop size build ${w7.size.bytes} B, default ${w7.default.bytes} B, ASYNCIFY ${w7.asyncify?.bytes ?? 'n/a'} B)`}`);
    }
  }
  console.log(`bench smoke: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed ? 1 : 0);
}

/* --- Full run: rounds, medians, ratios, targets, profiles, RESULTS.md ------- */
const started = Date.now();
const loadStart = loadAverage();
const raws = {};
for (const w of workloads) {
  raws[w.id] = { rounds: [], extras: {}, errors: {}, n: {}, skipped: {}, host: {} };
  for (const run of w.runs) {
    const n = run.n ?? w.n;
    raws[w.id].n[run.id] = opts.scale === 1 ? n : Math.max(w.smokeN, Math.round((n * opts.scale) / 1000) * 1000);
    if (why[run.group]) raws[w.id].skipped[run.id] = why[run.group];
  }
}
let failures = 0;
/* One run's outcome into its workload's round: its ns/op, extras, host counters. */
function accept(w, raw, run, n, r, times) {
  if (!r.ok || !w.expect(r.result, n)) {
    failures++;
    (raw.errors[run.id] ??= []).push(r.error ?? `wrong result ${JSON.stringify(r.result)}`);
    console.log(`  FAIL ${w.id} ${run.id}: ${raw.errors[run.id].at(-1)}`);
    return;
  }
  times[run.id] = r.result.ns / r.result.ops;
  if (r.host) raw.host[run.id] = r.host;
  const ex = (raw.extras[run.id] ??= {});
  for (const [key, , get] of w.extras ?? []) (ex[key] ??= []).push(get(r.result));
  const rate = w.rate ? `  (${Math.round(1e9 / times[run.id]).toLocaleString('en-US')} ${w.rate.title})` : '';
  console.log(`  ${w.id.padEnd(8)} ${run.id.padEnd(18)} ${times[run.id].toFixed(1).padStart(10)} ns/op${rate}`);
}

const browser = await startBrowsers(browserWorkloads, why);
for (const w of browserWorkloads) {
  raws[w.id] = { rounds: [], extras: {}, errors: {}, n: {}, skipped: {}, host: {} };
  for (const run of w.runs) {
    raws[w.id].n[run.id] = run.n ?? w.n;
    if (why[run.group]) raws[w.id].skipped[run.id] = why[run.group];
  }
}
/* JSPI's ceiling in W4, once per engine before the rounds: the rounds run JSPI
 * only at the N that completed. */
const ceilings = await findCeilings(browser, browserWorkloads, raws);

for (let round = 0; round < opts.rounds; round++) {
  console.log(`=== round ${round + 1}/${opts.rounds} (load ${loadAverage()})`);
  for (const w of workloads) {
    const raw = raws[w.id];
    const times = {};
    /* Alternate the order, so no run always follows the same neighbour. */
    const runs = round % 2 ? [...w.runs].reverse() : w.runs;
    for (const run of runs) {
      if (raw.skipped[run.id]) continue;
      const n = raw.n[run.id];
      const r = runProgram(run.argv(n), { timeoutMs: 120000 });
      if (r.skip) {
        /* Cannot run here (a W6 server without sockets): skipped from now on. */
        raw.skipped[run.id] = r.skip;
        console.log(`  SKIP ${w.id} ${run.id}: ${r.skip}`);
        continue;
      }
      accept(w, raw, run, n, r, times);
    }
    raw.rounds.push(times);
  }
  /* Browsers: every run of a workload in one fresh page, in alternating order. */
  for (const w of browserWorkloads) {
    const raw = raws[w.id];
    const times = {};
    const runs = (round % 2 ? [...w.runs].reverse() : w.runs).filter((run) => !raw.skipped[run.id]);
    const results = await browser.round(w.browser.engine, w.browser.workload,
      runs.map((run) => ({ id: run.id, variant: run.variant, n: raw.n[run.id] })));
    for (const run of runs) accept(w, raw, run, raw.n[run.id], pageResult(results[run.id]), times);
    raw.rounds.push(times);
  }
}
await browser?.close();

const summaries = {};
for (const w of [...workloads, ...browserWorkloads]) summaries[w.id] = summarize(w, raws[w.id]);

/* Profiles where a target was missed: callgrind for the native program (the
 * same C runs in wasm, where no instruction profiler is at hand), Node's
 * profiler for a missed JS host target. */
const profiles = {};
if (opts.profile) {
  for (const w of workloads) {
    const missed = summaries[w.id].targets.filter((t) => t.met === false);
    if (!missed.length) continue;
    const p = (profiles[w.id] = { native: [] });
    console.log(`=== profiling ${w.id} (missed: ${missed.map((t) => t.text).join('; ')})`);
    for (const spec of w.profile ?? []) {
      p.native.push({ label: spec.label, ...callgrind(spec.argv, spec.ops) });
    }
    if (w.jsProfile && missed.some((t) => t.runs.includes('tide-js'))) {
      p.js = cpuProfile(w.jsProfile.argv, w.jsProfile.ops);
    }
  }
}

let w7 = { error: 'not requested (--only)' };
let w7Targets;
if (wantW7) {
  console.log('=== W7 sizes');
  w7 = measureW7({ smoke: false });
  if (w7.skip) w7 = { error: `skipped: ${w7.skip}` };
  else if (w7.error) failures++;
  const core = w7.default?.split.rows.find((r) => r.group === 'core')?.bytes;
  const size = w7.size?.bytes;
  const limit = w7.asyncify?.bytes;
  w7Targets = [{
    text: 'the core under 16 KB (code of src/core in the minimal module, default build)',
    value: Number.isFinite(core) ? `${core.toLocaleString('en-US')} bytes (limit 16,384)` : 'n/a',
    met: Number.isFinite(core) ? core < 16384 : undefined,
  }, {
    text: 'the minimal module (size build) no larger than the same logic with ASYNCIFY (issue 16)',
    value: Number.isFinite(size) && Number.isFinite(limit)
      ? `${size.toLocaleString('en-US')} bytes (ASYNCIFY ${limit.toLocaleString('en-US')})` : 'n/a',
    met: Number.isFinite(size) && Number.isFinite(limit) ? size <= limit : undefined,
  }];
}

const minutes = (Date.now() - started) / 60000;
const md = renderResults({
  meta: {
    date: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'),
    rounds: opts.rounds, minutes, loadStart, loadEnd: loadAverage(), scale: opts.scale,
    skipped: skippedGroups,
  },
  machine: describeMachine(),
  workloads, summaries, raws, profiles, w7, label, w7Targets,
  browser: { workloads: browserWorkloads, ceilings, versions: browser?.versions ?? {} },
});
writeFileSync(opts.out, md);
console.log(`=== wrote ${path.relative(process.cwd(), opts.out)} (${minutes.toFixed(1)} min)`);
for (const w of [...workloads, ...browserWorkloads]) {
  for (const t of summaries[w.id].targets) {
    console.log(`  ${t.met === undefined ? 'n/a   ' : t.met ? 'met   ' : 'MISSED'} ${w.id}: ${t.text}`);
  }
}
if (failures) console.log(`${failures} runs failed; see ${opts.out}`);
/* Exit now: a browser dropped after a time-out can leave a connection open. */
process.exit(failures ? 1 : 0);
