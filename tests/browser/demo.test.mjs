// demo.test.mjs: clicks through examples/browser/ as a user would: starts jobs,
// sees them sleep on C timers and wait on host fetches (host ops in flight),
// cancels one and then all, starts more and lets them finish; saves
// screenshots to build/browser-artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { setup, ARTIFACTS } from './harness.mjs';

let h;
let page;
before(async () => {
  h = await setup();
  page = await h.open('/examples/browser/index.html');
  await page.waitForFunction(() => window.demo?.ready === true, null, { timeout: 20_000 });
});
after(() => h?.close());

const summary = () => page.evaluate(() => window.demo.summary());
const waitFor = (fn, arg, what) =>
  page.waitForFunction(fn, arg, { timeout: 20_000 }).catch((e) => {
    throw new Error(`${what}: ${e.message}\n${page.log.join('\n')}`);
  });

test('the demo: start, watch states, cancel one, cancel all, finish, screenshot', async (t) => {
  await page.click('#start');
  /* Jobs go through C sleeps (sleeping) and host fetches (waiting, with host
   * ops in flight at the server). */
  await waitFor(() => {
    const s = window.demo.summary();
    return s.seen.includes('sleeping') && s.seen.includes('waiting') && s.hostInFlight > 0;
  }, null, 'jobs sleeping and waiting on fetches');
  assert.ok(h.server.stats.inFlight + h.server.stats.served > 0, 'the server saw the fetches');
  assert.equal(await page.textContent('#s-live'), '12');
  await page.screenshot({ path: resolve(ARTIFACTS, 'demo-running.png') });

  await page.click('#cancel-one');
  await waitFor(() => window.demo.summary().states.cancelled === 1, null, 'one job cancelled');
  await page.click('#cancel-all');
  await waitFor(() => window.demo.summary().states.cancelled === 12, null, 'all 12 cancelled');
  await waitFor(() => window.demo.summary().hostInFlight === 0, null, 'fetches aborted');
  assert.equal(await page.textContent('#s-cancelled'), '12');

  await page.click('#start');
  await waitFor(() => window.demo.summary().states.done === 12, null, '12 more jobs done');
  const s = await summary();
  t.diagnostic(`demo: ${JSON.stringify(s)}`);
  assert.deepEqual(s.states, { cancelled: 12, done: 12 });
  assert.ok(s.fetched >= 24, `each finished job fetched 2-4 times: ${s.fetched}`);
  assert.ok(s.frames > 10, 'the page kept rendering');
  await page.waitForTimeout(200);
  assert.equal(await page.textContent('#s-done'), '12');
  await page.screenshot({ path: resolve(ARTIFACTS, 'demo.png') });
  assert.ok(!page.log.some((l) => l.startsWith('[pageerror]')), page.log.join('\n'));
});
