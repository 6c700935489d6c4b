// responsiveness.test.mjs: the main thread stays responsive while C runs a
// burst of at least 1.5e7 callbacks and about 2 s of C work: the host runs its
// ticks in time slices, so the browser must render between them. A build that
// runs the first burst in well under that (the size build, -Oz without the
// debug build's checks) runs a longer one, scaled from the first. A requestAnimationFrame counter runs during the burst; the
// target is a full frame rate, at least 50 frames a second, in Chromium and in
// Firefox alike, and the burst must still complete: every callback ran, in as
// many ticks as it takes. Prints the numbers per engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine, pageSuite } from './harness.mjs';

const N = 15_000_000;
const WIDTH = 1000; /* callbacks per loop iteration (burst's chains) */
const MIN_FPS = 50;
const BURST_MS = 2000; /* the work a burst should take, at least about */

forEachEngine((engine) => {
  const s = pageSuite(engine, '/tests/browser/pages/burst.html');

  test(`[${engine}] frames keep coming (>= ${MIN_FPS} fps) during a burst of ${N}+ C callbacks`,
    { timeout: 150_000 }, async (t) => {
      const measure = (n) => s.page.evaluate(([m, w]) => window.measure(m, w), [n, WIDTH]);
      let n = N;
      let r = await measure(n);
      if (r.ms < BURST_MS / 2) {
        /* Too short to say much about frames: again, long enough (chains of
         * whole iterations: a multiple of WIDTH). */
        n = Math.ceil((n * BURST_MS) / Math.max(r.ms, 1) / WIDTH) * WIDTH;
        r = await measure(n);
      }
      const fps = r.frames / (r.ms / 1000);
      t.diagnostic(`[${engine}] burst of ${r.ran} C callbacks (${WIDTH} per tick): ` +
        `${r.ms.toFixed(0)} ms, ${r.ticks} ticks, ${r.frames} frames (${fps.toFixed(1)} fps), ` +
        `longest frame gap ${r.longestFrameGapMs.toFixed(1)} ms`);
      /* The burst completed, and as many ticks rather than one long task. */
      assert.equal(r.ran, n);
      assert.ok(r.ticks >= n / WIDTH / 2, `the burst ran as many ticks, not one: ${r.ticks}`);
      assert.ok(r.ms >= 500, `the burst lasted long enough to count frames: ${r.ms.toFixed(0)} ms`);
      /* The runtime still answers afterwards. */
      assert.equal(await s.page.evaluate(() => window.rt.call('add', [2, 3])), 5);
      assert.ok(fps >= MIN_FPS, `[${engine}] ${r.frames} frames in ${r.ms.toFixed(0)} ms: ` +
        `${fps.toFixed(1)} fps, below ${MIN_FPS} (longest frame gap ` +
        `${r.longestFrameGapMs.toFixed(1)} ms)`);
    });
});
