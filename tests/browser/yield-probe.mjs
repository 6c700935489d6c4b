// yield-probe.mjs: not a test (it asserts nothing): measures, in each engine,
// how many frames a second a page renders while JS runs a chain of busy tasks
// of 1, 4 and 8 ms chained through MessageChannel, setTimeout(0),
// scheduler.postTask, scheduler.yield() and rAF+MessageChannel
// (pages/yield-probe.html), and prints a table. These figures decide how the JS
// host yields between loop iterations.
//
//   TIDE_JS_BUILD=build/js node tests/browser/yield-probe.mjs [durationMs [taskMs,...]]
//
// (defaults: 1500 ms a cell; tasks of 1,4,8 ms). TIDE_BROWSERS narrows the
// engines, as for the suites. Each cell: frames a second / busy (the share of
// the time spent in the tasks; the rest went to scheduling, rendering or idling)
// and the longest gap between two frames in ms. Two candidates beyond the five
// asked about are measured too (see the page).
import { setup, selectedEngines, waitFor } from './harness.mjs';

const durationMs = Number(process.argv[2] ?? 1500);
const TASK_MS = (process.argv[3] ?? '1,4,8').split(',').map(Number);

for (const engine of selectedEngines()) {
  const h = await setup(engine);
  try {
    const page = await h.open('/tests/browser/pages/yield-probe.html');
    await waitFor(page, () => window.ready === true, null, 'the probe page loaded');
    const features = await page.evaluate(() => window.features);
    console.log(`\n${engine}: ${features.userAgent}`);
    console.log(`  scheduler.postTask: ${features.postTask ? 'yes' : 'no'}; ` +
      `scheduler.yield: ${features.yield ? 'yes' : 'no'}; ` +
      `performance.now() step: ${features.clockStepMs.toFixed(3)} ms`);
    console.log(`  ${'mechanism'.padEnd(22)}` +
      TASK_MS.map((ms) => `${ms} ms task: fps / busy`.padEnd(26)).join(''));
    for (const name of await page.evaluate(() => window.mechanisms)) {
      const cells = [];
      for (const ms of name.startsWith('idle') ? [0] : TASK_MS) {
        const r = await page.evaluate(([n, t, d]) => window.probe(n, t, d), [name, ms, durationMs]);
        cells.push(`${r.fps.toFixed(1).padStart(5)} / ${(100 * r.busyShare).toFixed(0).padStart(3)}%` +
          ` (gap ${r.longestFrameGapMs.toFixed(0)})`.padEnd(12));
      }
      console.log(`  ${name.padEnd(22)}${cells.map((c) => c.padEnd(26)).join('')}`);
    }
  } finally {
    await h.close();
  }
}
