// gecko-profile.mjs: where a browser variant's time goes in headless Firefox,
// by JS and wasm function, from Firefox's own sampling profiler (the Gecko
// profiler, started with the browser through its MOZ_PROFILER_* environment
// and written out when the browser closes). Firefox's native frames stay
// addresses (Debian ships its symbols apart), but JS frames carry their
// function, file and line, and wasm frames their function index.
//
//   node bench/browser/gecko-profile.mjs [--workload W5] [--variant tide] [--n 1000000]
//        [--top 30] [--keep FILE]
//
// It runs the variant once in one fresh page, then prints, for the page's
// content process: the share of its samples spent in each of the page's
// frames and below it (inclusive), and each one's own time (with the native
// code it called, without its JS and wasm callees). --keep saves the raw profile (profiler.firefox.com opens it). After
// bench/build.sh.
import { mkdtempSync, readFileSync, rmSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BrowserBench } from './driver.mjs';
import { parseOptions } from './tool-options.mjs';

const opt = parseOptions(process.argv.slice(2),
  { workload: 'W5', variant: 'tide', n: 1000000, top: 30, keep: '' },
  'node gecko-profile.mjs [--workload W] [--variant V] [--n N] [--top K] [--keep FILE]');

function fail(message) {
  console.error(`gecko-profile: ${message}`);
  process.exit(1);
}

/* Run the variant once in a Firefox started with its profiler on (sampling
 * every 0.5 ms, JS frames included), which writes the profile when it closes:
 * {result, profile}. Throws if either is missing; the temporary profile goes
 * either way. */
async function profileRun() {
  const dir = mkdtempSync(path.join(tmpdir(), 'gecko-profile-'));
  const file = path.join(dir, 'profile.json');
  try {
    const bench = new BrowserBench({
      env: {
        MOZ_PROFILER_STARTUP: '1',
        MOZ_PROFILER_STARTUP_FEATURES: 'js,cpu',
        MOZ_PROFILER_STARTUP_INTERVAL: '0.5',
        MOZ_PROFILER_SHUTDOWN: file,
      },
    });
    let result;
    try {
      const out = await bench.round('firefox', opt.workload,
        [{ id: opt.variant, variant: opt.variant, n: opt.n }], { timeoutMs: 300_000 });
      result = out[opt.variant];
    } finally {
      await bench.close();
    }
    if (!result || result.error) throw new Error(`the run failed: ${result?.error ?? 'no result'}`);
    let profile;
    try {
      profile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`Firefox wrote no profile (${e.message})`);
    }
    if (opt.keep) copyFileSync(file, opt.keep);
    return { result, profile };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
let result;
let profile;
try {
  ({ result, profile } = await profileRun());
} catch (e) {
  fail(e.message);
}

/* The page's frames: its JS (served from 127.0.0.1) and its wasm. */
const isOurs = (f) => /^(.* \()?https?:\/\/127\.0\.0\.1[:/]/.test(f) || /wasm-function\[/.test(f);

/* Each sample's frames of a thread, outermost first. */
function chainsOf(t) {
  const strings = t.stringTable;
  const LOC = t.frameTable.schema.location;
  const PREFIX = t.stackTable.schema.prefix;
  const FRAME = t.stackTable.schema.frame;
  const STACK = t.samples.schema.stack;
  const out = [];
  for (const row of t.samples.data) {
    const chain = [];
    for (let s = row[STACK]; s !== null && s !== undefined; s = t.stackTable.data[s][PREFIX]) {
      chain.push(strings[t.frameTable.data[t.stackTable.data[s][FRAME]][LOC]]);
    }
    out.push(chain.reverse());
  }
  return out;
}

/* The page's thread: the content process main thread with the most samples
 * in the page's own code (Firefox keeps other content processes too). */
function* threadsOf(p) {
  for (const t of p.threads ?? []) yield t;
  for (const sub of p.processes ?? []) yield* threadsOf(sub);
}
let page = null;
let chains = [];
let busy = 0;
for (const t of threadsOf(profile)) {
  if (t.name !== 'GeckoMain' || t.processType !== 'tab') continue;
  const c = chainsOf(t);
  const n = c.filter((chain) => chain.some(isOurs)).length;
  if (n > busy) [page, chains, busy] = [t, c, n];
}
if (page === null) fail("no content process ran the page's code");
const total = chains.length;
const inclusive = new Map();
for (const chain of chains) {
  for (const f of new Set(chain)) inclusive.set(f, (inclusive.get(f) ?? 0) + 1);
}
const pct = (c) => `${((100 * c) / total).toFixed(1).padStart(5)}%`;
const short = (f) => f.replace(/https?:\/\/[^/]+\//, '').slice(0, 110);
const ns = result.ns / opt.n;
console.log(`${opt.workload} ${opt.variant}, N = ${opt.n}: ${ns.toFixed(0)} ns/op; ` +
  `${total} samples of the page's thread (${page.processName}), ${busy} in its code`);
console.log('\ninclusive (the frame and what it called):');
const ours = [...inclusive].filter(([f]) => isOurs(f) || f === 'promise callback')
  .sort((a, b) => b[1] - a[1]).slice(0, opt.top);
for (const [f, c] of ours) console.log(`${pct(c)}  ${short(f)}`);
/* For each of the variant's JS functions: its own time (it and the native
 * code it called directly: builtins, promise jobs) against its callees'. */
console.log('\nown time (the frame and the native code under it, without JS or wasm callees):');
const own = new Map();
for (const chain of chains) {
  let last = -1;
  for (let i = 0; i < chain.length; i++) if (isOurs(chain[i])) last = i;
  if (last >= 0) own.set(chain[last], (own.get(chain[last]) ?? 0) + 1);
}
for (const [f, c] of [...own].sort((a, b) => b[1] - a[1]).slice(0, opt.top)) {
  console.log(`${pct(c)}  ${short(f)}`);
}
