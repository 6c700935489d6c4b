// demo.test.mjs: clicks through examples/browser/ as a user would, in Chromium
// and Firefox: starts jobs, sees them sleep on C timers and wait on host
// fetches (host ops in flight), cancels one and then all, starts more and lets
// them finish; saves screenshots to build/browser-artifacts/<engine>/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { forEachEngine, pageSuite, waitFor } from './harness.mjs';

forEachEngine((engine) => {
  const s = pageSuite(engine, '/examples/browser/index.html', () => window.demo?.ready === true);
  const summary = () => s.page.evaluate(() => window.demo.summary());
  const text = (selector) => s.page.$eval(selector, (e) => e.textContent);

  test(`[${engine}] the demo: start, watch states, cancel one, cancel all, finish, screenshot`,
    async (t) => {
      const { h, page } = s;
      await page.click('#start');
      /* Jobs go through C sleeps (sleeping) and host fetches (waiting, with
       * host ops in flight at the server). */
      await waitFor(page, () => {
        const d = window.demo.summary();
        return d.seen.includes('sleeping') && d.seen.includes('waiting') && d.hostInFlight > 0;
      }, null, 'jobs sleeping and waiting on fetches');
      assert.ok(h.server.stats.inFlight + h.server.stats.served > 0, 'the server saw the fetches');
      assert.equal(await text('#s-live'), '12');
      await h.screenshot(page, 'demo-running.png');

      await page.click('#cancel-one');
      await waitFor(page, () => window.demo.summary().states.cancelled === 1, null,
        'one job cancelled');
      await page.click('#cancel-all');
      await waitFor(page, () => window.demo.summary().states.cancelled === 12, null,
        'all 12 cancelled');
      await waitFor(page, () => window.demo.summary().hostInFlight === 0, null, 'fetches aborted');
      assert.equal(await text('#s-cancelled'), '12');

      await page.click('#start');
      await waitFor(page, () => window.demo.summary().states.done === 12, null,
        '12 more jobs done');
      const d = await summary();
      t.diagnostic(`[${engine}] demo: ${JSON.stringify(d)}`);
      assert.deepEqual(d.states, { cancelled: 12, done: 12 });
      assert.ok(d.fetched >= 24, `each finished job fetched 2-4 times: ${d.fetched}`);
      assert.ok(d.frames > 10, 'the page kept rendering');
      await sleep(200);
      assert.equal(await text('#s-done'), '12');
      await h.screenshot(page, 'demo.png');
      assert.ok(!page.log.some((l) => l.startsWith('[pageerror]')), page.log.join('\n'));
    });
});
