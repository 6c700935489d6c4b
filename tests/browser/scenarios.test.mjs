// scenarios.test.mjs: the scenarios of tests/shared/scenarios.mjs (which
// tests/js/shared-scenarios.test.mjs runs under Node) inside headless Chromium,
// through the package's browser entry.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setup } from './harness.mjs';
import { scenarios } from '../shared/scenarios.mjs';

let h;
let page;
before(async () => {
  h = await setup();
  page = await h.open('/tests/browser/pages/scenarios.html');
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20_000 });
  assert.deepEqual(await page.evaluate(() => window.scenarioNames), Object.keys(scenarios));
});
after(() => h?.close());

for (const name of Object.keys(scenarios)) {
  test(`in Chromium: ${name}`, async () => {
    const r = await page.evaluate((n) => window.runScenario(n), name);
    assert.ok(r.ok, `${r.error}\n--- page console:\n${page.log.join('\n')}`);
  });
}
