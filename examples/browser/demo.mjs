// demo.mjs: the browser demo's page script. Loads examples/browser/demo.c (built
// for the JS host: /build/examples/browser-demo.wasm) with the package's browser
// entry, registers the host function fetch_text, starts and cancels C jobs, and
// draws a live timeline: one row per job, coloured by the state C reports
// (tide_loop_dump_tasks, through the exported coroutine "snapshot"), polled
// every 50 ms. window.demo exposes the model to the test suite.
import { load } from '/js/src/index.mjs';

const COLORS = {
  new: '#bbbbbb', ready: '#f2c14e', running: '#3cb44b', sleeping: '#4a90d9',
  waiting: '#f58231', done: '#9e9e9e', cancelled: '#e6194b', failed: '#800000',
};
const $ = (id) => document.getElementById(id);

const rt = await load(new URL('/build/examples/browser-demo.wasm', location.href));
if ((await rt.main(['browser-demo'])) !== 0) throw new Error('demo setup failed');

let hostInFlight = 0;
let fetched = 0;
rt.register('fetch_text', async (ms, id, { signal }) => {
  hostInFlight++;
  try {
    const res = await fetch(`/api/slow?ms=${ms}&id=job-${id}`, { signal });
    if (!res.ok) throw Object.assign(new Error(res.statusText), { code: 'EIO' });
    const text = await res.text();
    fetched++;
    return text;
  } finally {
    hostInFlight--;
  }
});

/* jobs: id -> {id, ac, started, state, segments: [{state, from, to}]} */
const jobs = new Map();
let nextId = 1;
const t0 = performance.now();
const now = () => performance.now() - t0;

function setState(job, state) {
  if (job.state === state) return;
  const t = now();
  const last = job.segments.at(-1);
  if (last) last.to = t;
  job.segments.push({ state, from: t, to: null });
  job.state = state;
}

function startJobs(n) {
  for (let i = 0; i < n; i++) {
    const id = nextId++;
    const ac = new AbortController();
    const job = { id, ac, state: null, segments: [], final: false };
    jobs.set(id, job);
    setState(job, 'new');
    const steps = 2 + (id % 3);
    const sleep = 150 + ((id * 37) % 250);
    const fetchMs = 200 + ((id * 53) % 400);
    rt.call('job', [id, steps, sleep, fetchMs, 3 + (id % 5)], { signal: ac.signal }).then(
      () => finish(job, 'done'),
      (e) => finish(job, e.name === 'AbortError' ? 'cancelled' : 'failed'),
    );
  }
}

/* Totals since the page loaded: Clear finished removes rows, not history. */
const totals = { done: 0, cancelled: 0, failed: 0 };

function finish(job, state) {
  totals[state]++;
  job.final = true;
  setState(job, state);
  const last = job.segments.at(-1);
  last.to = now();
}

let readyQueue = 0;
let polledIdle = false;
async function poll() {
  /* Only while jobs run (and once after the last ended): each snapshot is a
   * call into C, so polling an idle loop would make its tick count climb. */
  const live = [...jobs.values()].some((j) => !j.final);
  if (!live && polledIdle) return;
  polledIdle = !live;
  let text;
  try {
    text = await rt.call('snapshot');
  } catch {
    return;
  }
  let ready = 0;
  for (const line of text.split('\n')) {
    const [name, state] = line.split(' ');
    if (name === 'ready-queue') ready = Number(state);
    const m = /^job-(\d+)$/.exec(name ?? '');
    if (!m) continue;
    const job = jobs.get(Number(m[1]));
    if (job && !job.final) setState(job, state);
  }
  readyQueue = ready;
}
setInterval(poll, 50);

let frames = 0;
const canvas = $('timeline');
const MAX_ROWS = Math.floor(canvas.height / 8);
const ctx = canvas.getContext('2d');
function draw() {
  frames++;
  let live = 0;
  for (const j of jobs.values()) if (!j.final) live++;
  $('s-live').textContent = live;
  $('s-ready').textContent = readyQueue;
  $('s-host').textContent = hostInFlight;
  $('s-fetched').textContent = fetched;
  $('s-done').textContent = totals.done;
  $('s-cancelled').textContent = totals.cancelled;
  $('s-failed').textContent = totals.failed;
  $('s-ticks').textContent = rt.stats.ticks;
  $('s-frames').textContent = frames;

  const W = canvas.width;
  const H = canvas.height;
  const LABEL = 60;
  const WINDOW = 8000; /* ms shown */
  const tNow = now();
  const tMin = Math.max(0, tNow - WINDOW);
  const all = [...jobs.values()];
  const rows = all.slice(-MAX_ROWS);
  /* Rows are at least 8 px: past MAX_ROWS the oldest are not drawn, and the
   * page says so rather than letting them vanish. */
  const hidden = all.length - rows.length;
  const note = hidden > 0
    ? `showing the newest ${rows.length} of ${all.length} jobs: ${hidden} older ` +
      `${hidden === 1 ? 'row is' : 'rows are'} not drawn (Clear finished makes room)`
    : '';
  if ($('rows').textContent !== note) $('rows').textContent = note;
  const rowH = Math.max(3, Math.min(24, Math.floor(H / Math.max(rows.length, 1))));
  ctx.clearRect(0, 0, W, H);
  ctx.font = '11px monospace';
  const x = (t) => LABEL + ((t - tMin) / WINDOW) * (W - LABEL - 4);
  rows.forEach((j, r) => {
    const y = r * rowH;
    if (rowH >= 10) {
      ctx.fillStyle = '#333';
      ctx.fillText(`job-${j.id}`, 2, y + rowH - 3);
    }
    for (const s of j.segments) {
      const to = s.to ?? tNow;
      if (to < tMin) continue;
      ctx.fillStyle = COLORS[s.state] ?? '#000';
      /* A final state (done, cancelled, failed) is an instant: a fixed mark. */
      const w = s.to === null || !j.final || s !== j.segments.at(-1) ? x(to) - x(Math.max(s.from, tMin)) : 6;
      ctx.fillRect(x(Math.max(s.from, tMin)), y + 1, Math.max(1, w), rowH - 2);
    }
  });
  requestAnimationFrame(draw);
}
requestAnimationFrame(draw);

$('legend').innerHTML = Object.entries(COLORS)
  .map(([s, c]) => `<span><i style="background:${c}"></i>${s}</span>`).join('');
$('start').onclick = () => startJobs(12);
$('start-many').onclick = () => startJobs(100);
$('cancel-all').onclick = () => { for (const j of jobs.values()) if (!j.final) j.ac.abort(); };
$('cancel-one').onclick = () => {
  for (const j of jobs.values()) if (!j.final) { j.ac.abort(); return; }
};
$('clear').onclick = () => { for (const [id, j] of jobs) if (j.final) jobs.delete(id); };

window.demo = {
  ready: true,
  summary() {
    const states = {};
    const seen = {};
    for (const j of jobs.values()) {
      states[j.state] = (states[j.state] ?? 0) + 1;
      for (const s of j.segments) seen[s.state] = true;
    }
    return { jobs: jobs.size, states, seen: Object.keys(seen).sort(), hostInFlight, fetched,
      readyQueue, ticks: rt.stats.ticks, frames, totals: { ...totals },
      rowsNote: $('rows').textContent };
  },
};
