// scenarios.test.mjs: the scenarios of tests/shared/scenarios.mjs (which
// tests/js/shared-scenarios.test.mjs runs under Node) inside headless Chromium
// and headless Firefox, through the package's browser entry.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine, pageSuite } from './harness.mjs';
import { scenarios } from '../shared/scenarios.mjs';

forEachEngine((engine) => {
  const s = pageSuite(engine, '/tests/browser/pages/scenarios.html');
  before(async () => {
    assert.deepEqual(await s.page.evaluate(() => window.scenarioNames), Object.keys(scenarios));
  });

  for (const name of Object.keys(scenarios)) {
    test(`[${engine}] ${name}`, async () => {
      const r = await s.page.evaluate((n) => window.runScenario(n), name);
      assert.ok(r.ok, `${r.error}\n--- page console:\n${s.page.log.join('\n')}`);
    });
  }
});
