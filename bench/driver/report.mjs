// report.mjs: write bench/RESULTS.md from one run's summaries, profiles and
// sizes. Everything in it comes from that run, except the fixed notes on how
// each peer is measured (workloads.mjs).
import { median } from './stats.mjs';

const fmt = (x, digits = 1) => {
  if (!Number.isFinite(x)) return 'n/a';
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 100) return x.toFixed(0);
  return x.toFixed(digits);
};
const fmtRatio = (x) => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(1) : x.toPrecision(3)) : 'n/a');
const kb = (b) => `${b.toLocaleString('en-US')} (${(b / 1024).toFixed(1)} KiB)`;

function table(head, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function targetCell(t) {
  if (t.met === undefined) return 'not measured';
  return t.met ? '**met**' : '**missed**';
}

function targetValue(t) {
  const f = (x) => (t.kind === 'ratio' ? `${fmtRatio(x)}x` : fmt(x));
  return t.min !== undefined ? `${f(t.value)} (at least ${f(t.min)})` : `${f(t.value)} (limit ${f(t.max)})`;
}

/* The JS host's own counters (deterministic), from the last round. */
function hostCounters(raw) {
  const h = raw.host['tide-js'];
  const n = raw.n['tide-js'];
  if (!h || !n) return [];
  const per = (x) => (x === 0 ? '0' : x >= n / 10 ? (x / n).toFixed(2) : `1 per ${Math.round(n / x).toLocaleString('en-US')} ops`);
  return [`JS host counters for tideloop's run (exact, not sampled): ${h.ticks.toLocaleString('en-US')} ticks ` +
    `(${per(h.ticks)}${h.ticks >= n / 10 ? ' per op' : ''}; each is one tide_js_tick or tide_js_tick_settle, run from a macrotask, or from a microtask while a round trip is the only work in flight (js/src/scheduler.mjs)), ${h.hostCalls.toLocaleString('en-US')} ` +
    `host calls, ${h.completions.toLocaleString('en-US')} completions, ${h.timers.toLocaleString('en-US')} host timers armed.`, ''];
}

/* A workload measured as a rate (W6, requests/s) shows its ratios as rates:
 * each round's ratio inverted (tideloop's rate over the peer's), then the
 * median of those; above 1, tideloop is faster. Others: ns/op, below 1. */
function shownRatio(w, r) {
  if (!w.rate) return { median: r.median, per: r.per };
  const per = r.per.map((x) => 1 / x);
  return { median: median(per), per };
}

function workloadSection(w, s, raw, label) {
  const out = [`## ${w.title}`, ''];
  if (w.notes) out.push(w.notes, '');
  const extras = w.extras ?? [];
  const rows = w.runs.map((run) => {
    const n = raw.n[run.id];
    const scaled = run.n !== undefined && run.n !== w.n && !w.browser ? ' *(scaled)*' : '';
    const errs = raw.errors[run.id] ?? [];
    const status = raw.skipped[run.id] ? `skipped: ${raw.skipped[run.id]}` : errs.length ? `FAILED: ${errs[0]}` : '';
    const [lo, hi] = s.spread[run.id];
    return [
      run.label, n === undefined ? 'n/a' : `${n.toLocaleString('en-US')}${scaled}`,
      status ? status : fmt(s.med[run.id]), status ? '' : `${fmt(lo)}–${fmt(hi)}`,
      ...extras.map(([key]) => fmt(s.extra[run.id]?.[key])),
    ];
  });
  out.push(table(['run', 'N', `median ${w.unit}`, 'min–max', ...extras.map(([, title]) => title)], rows), '');
  if (s.ratios.length) {
    const rr = s.ratios.map((r) => {
      const x = shownRatio(w, r);
      return [`${label(w, r.a)} / ${label(w, r.b)}`, fmtRatio(x.median),
        x.per.length ? x.per.map(fmtRatio).join(', ') : 'n/a'];
    });
    out.push(...hostCounters(raw));
    out.push(w.rate
      ? `Ratios of ${w.rate.title}, each taken inside one round (both programs back to back), then the ` +
        'median (above 1: the first serves more; tideloop over a peer: tideloop is faster):'
      : 'Ratios of ns/op, each taken inside one round (both programs back to back), then the median ' +
        '(below 1: tideloop is faster):', '', table(['ratio', 'median', 'per round'], rr), '');
  }
  return out.join('\n');
}

function profileSection(w, prof) {
  const out = [];
  for (const p of prof.native ?? []) {
    out.push(`**${w.id}${p.label ? ` (${p.label})` : ''}: callgrind**, \`${p.argv?.join(' ') ?? ''}\`: ` +
      (p.error ? `failed: ${p.error}` : `${fmt(p.perOp)} instructions per op in all (${p.total.toLocaleString('en-US')} Ir ` +
        `for ${p.ops.toLocaleString('en-US')} ops, set-up included).`), '');
    if (!p.error) {
      out.push(table(['function (self cost)', 'Ir', 'Ir per op', 'share'],
        p.rows.map((r) => [`\`${r.fn}\`${r.object && !r.object.startsWith('w') ? ` (${r.object})` : ''}`,
          r.ir.toLocaleString('en-US'), fmt(r.perOp), `${r.share.toFixed(1)}%`])), '');
    }
  }
  const j = prof.js;
  if (j) {
    if (j.error) out.push(`**${w.id}: JS host profile** failed: ${j.error}`, '');
    else {
      const h = j.host ?? {};
      const per = (x) => (Number.isFinite(x) ? (x / j.ops).toFixed(3) : 'n/a');
      out.push(`**${w.id}: JS host profile** (Node --cpu-prof, sampled: shares vary between runs; the ` +
        'process\'s start-up is included). Host ' +
        `counters, which do not vary: ${per(h.ticks)} ticks (tide_js_tick calls), ${per(h.hostCalls)} host ` +
        `calls and ${per(h.completions)} completions per op, ${j.ops.toLocaleString('en-US')} ops.`, '',
      table(['JS function (self time)', 'ms', 'share'], j.rows.map((r) => [`\`${r.fn}\``, fmt(r.ms), `${r.share.toFixed(1)}%`])), '');
    }
  }
  return out.join('\n');
}

/* Why each of the size build's largest functions is there, for W7's profile:
 * what the minimal program cannot do without, or what a smaller build would
 * have to give up. Functions not listed get no note. */
const W7_WHY = {
  sleeper_main: 'the program, with tide_host_call inlined by LTO: the name and argument encoding (the ABI\'s value list) and the operation\'s slot',
  tide_js_tick: 'one host tick: the ready queue, due timers and the completion ring, with tide_loop_run inlined',
  tide_js_main: 'rt.main(): argv copied into one block, the main task started, the exit code kept',
  tide__host_complete: 'a host completion: its value decoded (number, string, bytes, JSON, error) into the future',
  tide_future_release: 'a future\'s end: waiters, done callbacks, the report of an error nobody observed',
  take_ring: 'reads the completion ring JS writes (one copy per tick instead of one call per completion)',
  place: 'the timer heap: a slot moved to where its deadline belongs',
  tide__heap_remove: 'the timer heap, which every tick checks for due timers: an entry leaving it, unlinked from its bucket of equal deadlines or its slot refilled',
  sift_down: 'the timer heap\'s reordering after a slot is refilled',
  dispatch: 'runs a future\'s done callbacks',
  tide_js_loop_free: 'the loop\'s close: pending operations, tasks and the JS bridge\'s blocks freed',
  tide_js_alloc: 'memory JS asks for (arguments, completion payloads), recorded so a pointer JS made up is refused',
  tide_js_call: 'rt.call(name): what is left of it without tide_export_task (a lookup that answers TIDE_ENOENT)',
  fflush: 'wasi-libc: fflush(NULL) at rt.main()\'s end flushes C stdio as exit() would; it writes nothing here',
  tide_js_loop_new: 'the loop and its JS bridge state',
  tide__report: 'the default error handler: one line to console.error for an error nobody observed',
  blocks_take: 'the set of blocks handed to JS (the check behind tide_js_alloc)',
  tide__default_alloc: 'the compact allocator (src/backend/small_alloc.c): free, resize',
  block_alloc: 'the compact allocator: a block from its class\'s free list or the region',
  strlen: 'wasi-libc: the host function\'s name and the task\'s name',
  unref: 'a task\'s last reference dropped: the task freed, with its future and timer (inlined)',
};

function w7Section(w7) {
  const out = ['## W7: wasm size of a minimal async program (JS host)', ''];
  out.push('The program: a task awaits a JS host function (`sleep`, 1 ms) three times and exits 0 if all ' +
    'three succeeded (`bench/c/w7_minimal.c`), against the same logic as a plain C loop over ' +
    '`EM_ASYNC_JS` built with `emcc -O2 -sASYNCIFY` (`bench/emcc/w7_asyncify.c`). The tideloop program ' +
    'is built twice: in the size build (`-DTIDE_SIZE=ON`, README.md "The size build": -Oz, LTO, bulk ' +
    'memory, the compact allocator, no diagnostics; wasm-opt -Oz), the build the target is about, and ' +
    'in the default build (-O2; wasm-opt -O2, as emcc -O2 runs). All wasm files after `wasm-strip`. ' +
    'Every program is run first and must exit 0.', '');
  if (w7.error) return [...out, `Not measured: ${w7.error}`, ''].join('\n');
  const rows = [
    ['tideloop JS host module, size build (`TIDE_SIZE=ON`)', kb(w7.size.bytes), kb(w7.size.gzip)],
    ['tideloop JS host module, default build', kb(w7.default.bytes), kb(w7.default.gzip)],
  ];
  if (w7.asyncify) rows.push(['same logic with ASYNCIFY (emcc 3.1.6)', kb(w7.asyncify.bytes), kb(w7.asyncify.gzip)]);
  rows.push(['(JS) the tideloop package runtime, js/src/*.mjs unminified', kb(w7.tideJs.bytes), kb(w7.tideJs.gzip)]);
  if (w7.asyncifyJs) rows.push(['(JS) Emscripten glue for ASYNCIFY, minified', kb(w7.asyncifyJs.bytes), kb(w7.asyncifyJs.gzip)]);
  out.push(table(['what', 'bytes', 'gzip -9 bytes'], rows), '');
  const n = (x) => (Number.isFinite(x) ? x.toLocaleString('en-US') : 'n/a');
  const groups = [...new Set([...w7.size.split.rows, ...w7.default.split.rows].map((r) => r.group))];
  const bytesOf = (split, g) => split.rows.find((r) => r.group === g)?.bytes ?? 0;
  out.push('Code section by origin (function bodies, from the same links with names kept: ' +
    `${n(w7.size.split.total)} and ${n(w7.default.split.total)} bytes of code there, ` +
    `${n(w7.size.realCode)} and ${n(w7.default.realCode)} in the modules above). In the size build LTO ` +
    'inlines across origins: a function counts for the file that defines it, with what it inlined ' +
    '(tide_loop_run inside the JS bridge\'s tick, tide_host_call inside the program):', '',
  table(['origin', 'size build', 'share', 'default build'], groups.map((g) => [g,
    n(bytesOf(w7.size.split, g)), `${((100 * bytesOf(w7.size.split, g)) / w7.size.split.total).toFixed(1)}%`,
    n(bytesOf(w7.default.split, g))])), '');
  out.push('The size build\'s largest functions, and why each is there (after LTO a function holds ' +
    'what was inlined into it):', '', table(['function', 'origin', 'code bytes', 'why'],
    w7.size.split.largest.map((f) => [`\`${f.name}\``, f.group, n(f.bytes), W7_WHY[f.name] ?? ''])), '');
  if (w7.asyncify && w7.size.bytes > w7.asyncify.bytes) {
    out.push(`**What is left.** The size build is ${n(w7.size.bytes - w7.asyncify.bytes)} bytes over the ` +
      'ASYNCIFY build. What the size build removed is gone whole: wasi-libc\'s dlmalloc, realloc and ' +
      'memcpy/memmove (about 12 KB: the compact allocator is about 0.5 KB, bulk memory makes the copies ' +
      'single instructions) and the diagnostics and trace (about 3 KB); in every build, the ' +
      'exported-coroutine machinery of a program that exports none (about 2.5 KB: it is linked only with ' +
      'tide_export_task). What remains is the loop itself, which ASYNCIFY ' +
      'does not have: a ready queue, a timer heap, futures with done callbacks and cancellation, a task ' +
      'with its own frame, and the JS ABI (the value codec, the completion ring, argv, a checked ' +
      'allocation table). Below ASYNCIFY\'s size it would take a core cut down for this one program: ' +
      `the error table's messages (most of the ${n(w7.size.data)} bytes of data), the virtual clock exports ` +
      '(tide_js_set_clock, tide_js_advance) and the checked allocation table are the next candidates, ' +
      'each a visible change of behaviour, so none is made silently here.', '');
  }
  return out.join('\n');
}

/* JSPI's ceiling search in W4 (bench/browser/driver.mjs ceiling()). */
function ceilingTable(c) {
  const rows = c.steps.map((s) => [s.n.toLocaleString('en-US'),
    s.error ? `**did not complete**: ${s.error}` : fmt(s.nsPerTask), fmt(s.wallMs),
    fmt(s.rssPerTask, 0), fmt(s.heapPerTask, 0)]);
  const verdict = c.failedAt
    ? `JSPI's ceiling: **N = ${c.ceiling.toLocaleString('en-US')}** (the largest that completed; ` +
      `N = ${c.failedAt.n.toLocaleString('en-US')} did not within ${c.limitMs / 1000} s).`
    : `Every N tried completed: JSPI's ceiling is at least N = ${c.ceiling.toLocaleString('en-US')}.`;
  return [verdict, '', table(['N', 'ns/task', 'wall ms', 'RSS growth/task (bytes)', 'JS heap/task (bytes)'], rows)].join('\n');
}

/* The browser workloads of issue 13: engines, headline ratios side by side,
 * JSPI's ceiling, then each workload's own section. */
function browserSection({ workloads, ceilings, versions }, summaries, raws, label) {
  const out = ['## In the browsers (issue 13)', ''];
  out.push('The same workloads in headless browser pages (bench/browser/: `driver.mjs` starts each engine ' +
    'through puppeteer-core and serves the pages from 127.0.0.1, cross-origin isolated so that ' +
    '`performance.now()` is as fine as the engine allows). For every workload and every round, a fresh ' +
    'page runs all its variants back to back (order alternating between rounds); each variant times ' +
    'itself inside the page and checks its own result (examples/browser/variants.mjs, the code the ' +
    'comparison demo runs too). tideloop is loaded with the package\'s `load()` from js/src, as a page ' +
    'would; its modules are the JS host builds of bench/c/. Ratios are taken inside each round, then the ' +
    'median; below 1, tideloop is faster.', '');
  out.push(table(['engine', 'version'], Object.entries(versions).map(([e, v]) => [e, v])), '');
  const engines = Object.keys(versions);
  const rows = [];
  const seen = new Set();
  for (const w of workloads) {
    const key = w.id.replace(/-[a-z]+$/, '');
    for (const [a, b] of w.headline ?? w.ratios) {
      if (seen.has(`${key}:${a}/${b}`)) continue;
      seen.add(`${key}:${a}/${b}`);
      rows.push([key, `${label(w, a)} / ${label(w, b)}`, ...engines.map((e) => {
        const id = `${key}-${e}`;
        const r = summaries[id]?.ratios.find((x) => x.a === a && x.b === b);
        return Number.isFinite(r?.median) ? `${fmtRatio(r.median)}x` : 'n/a';
      })]);
    }
  }
  out.push('Headline ratios (medians of in-round ratios of ns/op; below 1, the first is faster):', '',
    table(['workload', 'ratio', ...engines], rows), '');
  for (const [id, c] of Object.entries(ceilings)) {
    out.push(`### JSPI's ceiling in W4 (${id.replace(/^.*-/, '')})`, '',
      'N concurrent calls of a `WebAssembly.promising` export, each suspended on a 10 ms sleep through a ' +
      '`WebAssembly.Suspending` import, for growing N, each N in a fresh page and bounded in time; the ' +
      'search stops at the first N that does not complete. RSS growth: the resident memory of all the ' +
      'browser\'s processes, sampled every 20 ms, peak minus before, per task (the suspended stacks are ' +
      'there, not in the JS heap).', '', ceilingTable(c), '');
  }
  for (const w of workloads) out.push(workloadSection(w, summaries[w.id], raws[w.id], label));
  return out.join('\n');
}

/** The whole RESULTS.md as a string. */
export function renderResults({ meta, machine, workloads, summaries, raws, profiles, w7, label, w7Targets, browser }) {
  const out = ['# Benchmark results', ''];
  out.push(`Written by \`npm run bench\` (\`bench/run.sh\`) on ${meta.date}: ${meta.rounds} rounds, ` +
    `${meta.minutes.toFixed(1)} minutes. Load average (1, 5, 15 min) at the start: ${meta.loadStart}; ` +
    `at the end: ${meta.loadEnd}. The machine is shared with other work (2 cores): that is why every ratio ` +
    'is taken inside a round, from two programs run back to back, and only then the median over rounds.', '');
  if (meta.scale !== 1) {
    out.push(`**Trial run: every N multiplied by ${meta.scale} (--scale). Not the issue's workloads; ` +
      'do not quote these figures.**', '');
  }
  out.push('## Machine', '', table(['', ''], machine), '');
  out.push('## How to read this', '',
    '- Every program times itself from the first operation to the last (process start-up, Node\'s and ' +
    'Python\'s, is not counted) and checks its own result (callbacks run, timers fired, awaits answered); ' +
    'a wrong count fails the run instead of giving a number.',
    '- "median" is the median over the rounds of ns per op; "min–max" the spread. A ratio is ' +
    'tideloop\'s ns/op divided by the peer\'s **in the same round**, then the median of those: below 1, ' +
    'tideloop is faster.',
    '- *(scaled)*: that peer ran a smaller N than the workload\'s to keep the run bounded (Python, and ' +
    'Node where a million promises take many seconds). Its figure is still per op, but a smaller N ' +
    'favours it (smaller heaps, warmer caches).',
    '- tideloop is built with -O2 -DNDEBUG (native gcc; wasm clang-14 + wasm-opt), as are the C peers. ' +
    'wasm runs (WASI and JS host) use `node --single-threaded-gc`: Node 20 otherwise segfaults now and ' +
    'then at exit with a large wasm memory; JS peers run with Node\'s defaults.', '');
  if (meta.skipped.length) {
    out.push('**Skipped (not installed or not built on this machine):**', '',
      ...meta.skipped.map(([g, why]) => `- ${g}: ${why}`), '');
  }
  const rows = [];
  for (const w of workloads) {
    for (const t of summaries[w.id].targets) rows.push([w.id, t.text, targetValue(t), targetCell(t)]);
    /* Then ratios the issue gives no figure for (W6's threads), or that show
     * where a target's floor lies (W5): its headline ratios, with what they
     * are. */
    for (const [a, b, what = 'no figure set (see below)'] of w.headline ?? []) {
      const r = summaries[w.id].ratios.find((x) => x.a === a && x.b === b);
      const x = r ? shownRatio(w, r) : undefined;
      rows.push([w.id, `${w.rate?.title ?? 'ns/op'}, ${label(w, a)} / ${label(w, b)}`,
        Number.isFinite(x?.median) ? `${fmtRatio(x.median)}x` : 'n/a', what]);
    }
  }
  for (const t of w7Targets ?? []) rows.push(['W7', t.text, t.value, targetCell(t)]);
  out.push('## Targets (issues 6, 13 and 16)', '', table(['workload', 'target', 'measured (median)', 'result'], rows), '');
  const missed = rows.filter((r) => r[3] === '**missed**').length;
  const measured = rows.filter((r) => r[3] === '**met**' || r[3] === '**missed**').length;
  out.push(`${missed} of ${measured} measured targets missed. For each workload with a missed ` +
    'target, its section ends with the profile of where the time goes and what is left; the workloads ' +
    'are not changed to meet them.', '');
  for (const w of workloads) {
    out.push(workloadSection(w, summaries[w.id], raws[w.id], label));
    const p = profiles[w.id];
    if (p && ((p.native?.length ?? 0) > 0 || p.js)) {
      out.push('### Profile (a target above was missed)', '', profileSection(w, p));
    }
    if (w.left && summaries[w.id].targets.some((t) => t.met === false)) {
      out.push('### What is left, and why', '', w.left, '');
    }
  }
  out.push(w7Section(w7));
  if (browser?.workloads.length) out.push(browserSection(browser, summaries, raws, label));
  out.push('## Rerun', '', '```sh', 'npm run bench                 # build, 5 rounds of everything, profiles, this file',
    'bash bench/run.sh --smoke     # every benchmark once with a tiny N, checks only (part of npm test)',
    'bash bench/run.sh --only W1-1,W5   # a subset, to build/bench/RESULTS-partial.md',
    'bash bench/run.sh --only B-W5      # W5 in both browsers (B: every browser workload)', '```', '');
  return out.join('\n');
}
