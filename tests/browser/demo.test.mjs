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
      /* The job it picked is cancelled (or had just finished: see below). */
      await waitFor(page, () => {
        const st = window.demo.summary().states;
        return (st.cancelled ?? 0) + (st.done ?? 0) >= 1;
      }, null, 'one job cancelled');
      await page.click('#cancel-all');
      /* Every job ends: cancelled, or done if it finished before the cancel
       * reached it (the result that won the race: a slow machine, a slow
       * screenshot above, can let a short job finish first). None fails. */
      await waitFor(page, () => {
        const st = window.demo.summary().states;
        return (st.cancelled ?? 0) + (st.done ?? 0) + (st.failed ?? 0) === 12;
      }, null, 'all 12 ended');
      await waitFor(page, () => window.demo.summary().hostInFlight === 0, null, 'fetches aborted');
      const first = (await summary()).states;
      assert.ok(!first.failed, `no job failed: ${JSON.stringify(first)}`);
      assert.ok(first.cancelled >= 1, `cancelled: ${JSON.stringify(first)}`);
      assert.equal(await text('#s-cancelled'), String(first.cancelled));

      await page.click('#start');
      await waitFor(page, (n) => window.demo.summary().states.done === n, 24 - first.cancelled,
        '12 more jobs done');
      const d = await summary();
      t.diagnostic(`[${engine}] demo: ${JSON.stringify(d)}`);
      assert.deepEqual(d.states, { cancelled: first.cancelled, done: 24 - first.cancelled });
      assert.ok(d.fetched >= 24, `each finished job fetched 2-4 times: ${d.fetched}`);
      assert.ok(d.frames > 10, 'the page kept rendering');
      await sleep(200);
      assert.equal(await text('#s-done'), String(24 - first.cancelled));
      await h.screenshot(page, 'demo.png');

      /* Idle: nothing polls C, so the loop's tick count stays put. */
      const idle = (await summary()).ticks;
      await sleep(400);
      assert.equal((await summary()).ticks, idle, 'no ticks while no job runs');

      /* Clear finished removes the rows, not the totals. */
      await page.click('#clear');
      const cleared = await summary();
      assert.equal(cleared.jobs, 0);
      assert.equal(await text('#s-done'), String(24 - first.cancelled));
      assert.equal(await text('#s-fetched'), String(d.fetched));

      /* More jobs than rows: the page says how many it does not draw. */
      await page.click('#start-many');
      await waitFor(page, () => window.demo.summary().rowsNote !== '', null, 'the rows note');
      assert.match((await summary()).rowsNote, /^showing the newest 52 of 100 jobs: 48 older rows/);
      await page.click('#cancel-all');
      await waitFor(page, () => window.demo.summary().hostInFlight === 0, null, 'the 100 ended');
      assert.ok(!page.log.some((l) => l.startsWith('[pageerror]')), page.log.join('\n'));
      /* No request of the page failed (the favicon included). */
      assert.ok(!page.log.some((l) => /404|Failed to load resource/.test(l)), page.log.join('\n'));
    });
});
