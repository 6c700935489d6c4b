// compare.mjs: the comparison page (compare.html): tideloop against JSPI (and
// pure JS, for scale) in the visitor's own browser, on the modules the browser
// benchmarks build (build/bench/, served as /build/bench/ by
// scripts/demo-browser.sh), through the same runners (variants.mjs). Charts are
// plain canvas. window.compare exposes the results, for a headless check.
import { hasJspi, jsHeap, makeVariants } from './variants.mjs';

const $ = (id) => document.getElementById(id);
const COLORS = { tide: '#1f77b4', jspi: '#d62728', js: '#7f7f7f' };
const NAMES = { tide: 'tideloop', jspi: 'JSPI', js: 'pure JS' };
const LADDER = [1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];

const state = {
  ready: false,
  busy: false,
  stop: false,
  roundTrips: { tide: [], jspi: [], js: [] }, /* [round, ns per round trip] */
  sleepers: { tide: [], jspi: [], js: [] }, /* [N, ns per task] */
  memory: { tide: [], jspi: [], js: [] }, /* [N, bytes per task] */
  ceiling: null, /* {ok: largest N that completed, failed: N, why} */
  errors: [],
};
window.compare = state;

const fmtN = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));
const fmt = (x) => (!Number.isFinite(x) ? 'n/a' : x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));

/* --- A small line chart on a canvas ---------------------------------------- */
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

function drawChart(canvas, { title, xLabel, yLabel, logX, series, xs, mark }) {
  const g = canvas.getContext('2d');
  const W = canvas.width;
  const H = canvas.height;
  const L = 70;
  const R = 16;
  const T = 48; /* the title, then the legend, above the plot */
  const B = 44;
  g.clearRect(0, 0, W, H);
  g.font = '13px system-ui, sans-serif';
  g.fillStyle = '#222';
  g.fillText(title, L, 18);
  const pts = series.flatMap((s) => s.points);
  const allX = [...(xs ?? []), ...pts.map((p) => p[0])];
  let x0 = Math.min(...allX);
  let x1 = Math.max(...allX);
  if (!Number.isFinite(x0)) [x0, x1] = logX ? [1000, 100000] : [1, 8];
  if (x0 === x1) x1 = logX ? x0 * 10 : x0 + 1;
  const yMax = niceMax(Math.max(0, ...pts.map((p) => p[1])) * 1.05);
  const fx = (x) => L + ((logX ? Math.log10(x / x0) / Math.log10(x1 / x0) : (x - x0) / (x1 - x0)) * (W - L - R));
  const fy = (y) => H - B - (Math.min(y, yMax) / yMax) * (H - T - B);
  /* Grid and axes. */
  g.strokeStyle = '#e4e4e4';
  g.fillStyle = '#555';
  g.font = '11px system-ui, sans-serif';
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    g.beginPath();
    g.moveTo(L, fy(y));
    g.lineTo(W - R, fy(y));
    g.stroke();
    const text = fmt(y);
    g.fillText(text, L - 6 - g.measureText(text).width, fy(y) + 4);
  }
  const ticks = logX ? (xs ?? LADDER).filter((x) => x >= x0 && x <= x1)
    : Array.from({ length: x1 - x0 + 1 }, (_, i) => x0 + i);
  for (const x of ticks) {
    const text = logX ? fmtN(x) : String(x);
    g.fillText(text, fx(x) - g.measureText(text).width / 2, H - B + 16);
  }
  g.strokeStyle = '#888';
  g.beginPath();
  g.moveTo(L, T - 4);
  g.lineTo(L, H - B);
  g.lineTo(W - R, H - B);
  g.stroke();
  g.fillText(xLabel, L + (W - L - R) / 2 - g.measureText(xLabel).width / 2, H - 8);
  g.save();
  g.translate(14, T + (H - T - B) / 2 + g.measureText(yLabel).width / 2);
  g.rotate(-Math.PI / 2);
  g.fillText(yLabel, 0, 0);
  g.restore();
  /* Series, and the legend. */
  let lx = W - R - 8;
  for (const s of [...series].reverse()) {
    g.font = '12px system-ui, sans-serif';
    const w = g.measureText(s.name).width;
    lx -= w + 26;
    g.fillStyle = s.color;
    g.fillRect(lx, 30, 14, 3);
    g.fillStyle = '#222';
    g.fillText(s.name, lx + 18, 36);
    g.strokeStyle = s.color;
    g.fillStyle = s.color;
    g.lineWidth = 2;
    g.setLineDash(s.dashed ? [5, 4] : []);
    g.beginPath();
    s.points.forEach(([x, y], i) => (i ? g.lineTo(fx(x), fy(y)) : g.moveTo(fx(x), fy(y))));
    g.stroke();
    g.setLineDash([]);
    for (const [x, y] of s.points) {
      g.beginPath();
      g.arc(fx(x), fy(y), 3, 0, 2 * Math.PI);
      g.fill();
    }
    g.lineWidth = 1;
  }
  /* Where JSPI stopped: a red cross on the axis at the N that did not complete. */
  if (mark && mark.x >= x0 && mark.x <= x1) {
    const x = fx(mark.x);
    const y = H - B - 14;
    g.strokeStyle = '#b00020';
    g.lineWidth = 3;
    g.beginPath();
    g.moveTo(x - 7, y - 7);
    g.lineTo(x + 7, y + 7);
    g.moveTo(x + 7, y - 7);
    g.lineTo(x - 7, y + 7);
    g.stroke();
    g.lineWidth = 1;
    g.fillStyle = '#b00020';
    g.font = '12px system-ui, sans-serif';
    const w = g.measureText(mark.text).width;
    g.fillText(mark.text, Math.min(Math.max(L + 4, x - w / 2), W - R - w), y - 12);
  }
}

function draw() {
  const series = (data) => Object.entries(data).filter(([, p]) => p.length)
    .map(([k, points]) => ({ name: NAMES[k], color: COLORS[k], points, dashed: k === 'js' }));
  const mark = state.ceiling?.failed
    ? { x: state.ceiling.failed, text: `JSPI stops: N = ${fmtN(state.ceiling.failed)}` } : null;
  const sweepXs = [...new Set(Object.values(state.sleepers).flat().map((p) => p[0]))];
  if (mark) sweepXs.push(mark.x);
  drawChart($('c-rt'), {
    title: 'Round trip: ns per await of async (x) => x + 1 (each round)',
    xLabel: 'round', yLabel: 'ns per round trip', series: series(state.roundTrips),
  });
  drawChart($('c-sl'), {
    title: 'Concurrent sleepers: ns per task (total time / N)',
    xLabel: 'N tasks at once (log scale)', yLabel: 'ns per task', logX: true,
    series: series(state.sleepers), xs: sweepXs, mark,
  });
  drawChart($('c-mem'), {
    title: 'Memory per sleeping task (tideloop: wasm memory; others: JS heap)',
    xLabel: 'N tasks at once (log scale)', yLabel: 'bytes per task', logX: true,
    series: series(state.memory), xs: sweepXs, mark,
  });
}

function latest(label, n, nsPerOp, bytes) {
  const row = document.createElement('tr');
  for (const text of [label, n.toLocaleString('en-US'), fmt(nsPerOp), bytes === undefined ? '' : fmt(bytes)]) {
    const td = document.createElement('td');
    td.textContent = text;
    row.append(td);
  }
  const table = $('latest');
  table.insertBefore(row, table.rows[1] ?? null);
  while (table.rows.length > 13) table.deleteRow(table.rows.length - 1);
}

const status = (text) => {
  $('status').textContent = text;
};

/* --- Runs ------------------------------------------------------------------- */
const variants = await makeVariants({ base: '/build/bench/' });
const jspi = hasJspi();
$('engine').textContent = `${navigator.userAgent}: ${jspi ? 'JSPI available' : 'no JSPI in this browser (only tideloop and pure JS run)'}` +
  `; memory per task ${jsHeap() === undefined ? 'for tideloop only (this browser has no performance.memory)' : 'from performance.memory (coarse unless the browser runs with --enable-precise-memory-info)'}.`;

async function exclusive(fn) {
  if (state.busy) return;
  state.busy = true;
  state.stop = false;
  for (const b of document.querySelectorAll('button:not(#stop)')) b.disabled = true;
  try {
    await fn();
  } catch (e) {
    state.errors.push(String(e?.message ?? e));
    status(`failed: ${e?.message ?? e}`);
  } finally {
    state.busy = false;
    for (const b of document.querySelectorAll('button')) b.disabled = false;
  }
}

/* Lets the page paint between runs. */
const frame = () => new Promise((r) => setTimeout(r, 30));

async function runRoundTrips() {
  const n = Math.max(100, Number($('rt-n').value) || 20000);
  const rounds = Math.min(50, Math.max(1, Number($('rt-rounds').value) || 8));
  for (const k of Object.keys(state.roundTrips)) state.roundTrips[k] = [];
  for (let round = 1; round <= rounds && !state.stop; round++) {
    for (const v of ['tide', 'jspi', 'js']) {
      if (v === 'jspi' && !jspi) continue;
      status(`round trips: round ${round} of ${rounds}, ${NAMES[v]}, N = ${n.toLocaleString('en-US')}`);
      await frame();
      const r = await variants.run('W5', v, n);
      state.roundTrips[v].push([round, r.ns / r.ops]);
      latest(`round trip, ${NAMES[v]}`, n, r.ns / r.ops);
      draw();
    }
  }
  status(state.stop ? 'stopped' : 'round trips done');
}

const timeout = (ms) => new Promise((_, reject) => {
  setTimeout(() => reject(new Error(`did not complete within ${ms / 1000} s`)), ms);
});

function stopJspi(n, why) {
  const ok = state.sleepers.jspi.at(-1)?.[0];
  state.ceiling = { ok, failed: n, why };
  $('ceiling').textContent = `JSPI's ceiling here: N = ${ok ? ok.toLocaleString('en-US') : 'none'}; ` +
    `N = ${n.toLocaleString('en-US')} ${why}.`;
}

async function runSleepers() {
  const max = Math.max(1000, Number($('sl-n').value) || 100000);
  const limitMs = 1000 * Math.min(120, Math.max(1, Number($('sl-limit').value) || 20));
  for (const k of Object.keys(state.sleepers)) {
    state.sleepers[k] = [];
    state.memory[k] = [];
  }
  const ladder = [...LADDER.filter((n) => n < max), max];
  let jspiStopped = state.ceiling?.failed !== undefined;
  for (const n of ladder) {
    /* JSPI last at each N: past its ceiling, its unfinished calls slow the page. */
    for (const v of ['tide', 'js', 'jspi']) {
      if (state.stop) break;
      if (v === 'jspi' && (!jspi || jspiStopped)) continue;
      status(`sleepers: ${NAMES[v]}, N = ${n.toLocaleString('en-US')}`);
      await frame();
      /* Past some N a page with that many suspended JSPI stacks stalls (its
       * main thread too, so no time-out fires): JSPI does not start an N whose
       * run, growing as N squared from the last one, would pass the bound. */
      const last = state.sleepers.jspi.at(-1);
      if (v === 'jspi' && last && (last[1] * n * n) / last[0] / 1e6 > limitMs) {
        stopJspi(n, `was not started: N = ${last[0].toLocaleString('en-US')} took ` +
          `${((last[1] * last[0]) / 1e9).toFixed(1)} s, so it would pass the ${limitMs / 1000} s bound`);
        jspiStopped = true;
        draw();
        continue;
      }
      try {
        const run = variants.run('W4', v, n);
        const r = await (v === 'jspi' ? Promise.race([run, timeout(limitMs)]) : run);
        const bytes = v === 'tide' ? r.mem_per_task : r.heap_per_task;
        state.sleepers[v].push([n, r.ns / r.ops]);
        if (Number.isFinite(bytes)) state.memory[v].push([n, Math.max(0, bytes)]);
        latest(`sleepers, ${NAMES[v]}`, n, r.ns / r.ops, bytes);
        if (v === 'jspi') state.ceiling = { ok: n };
      } catch (e) {
        if (v !== 'jspi') throw e;
        jspiStopped = true;
        stopJspi(n, `${String(e?.message ?? e)}; its unfinished calls stay suspended in this page (later ` +
          'figures may be slower; reload to start clean)');
      }
      draw();
    }
  }
  status(state.stop ? 'stopped' : 'sleepers done');
}

$('rt-run').onclick = () => exclusive(runRoundTrips);
$('sl-run').onclick = () => exclusive(runSleepers);
$('stop').onclick = () => {
  state.stop = true;
};
draw();
status('ready: pick N and run');
state.ready = true;
