// ws.test.mjs: WebSocket messages from C in headless Chromium and Firefox: the
// scenarios of tests/shared/ws-scenarios.mjs (tests/js/ws.test.mjs runs them
// under Node too) through the package's browser entry, against the WebSocket
// echo server of tests/shared/ws-server.mjs (node:http 'upgrade', RFC 6455 by
// hand) in this process. The C side is tests/modules/ws-test-module.c
// (<build>/tests/modules/tide-ws-test-module.wasm, served as /build/tests/modules/).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { forEachEngine, pageSuite } from './harness.mjs';
import { BUILD } from './server.mjs';
import { scenarios } from '../shared/ws-scenarios.mjs';
import { startWsServer, freePort } from '../shared/ws-server.mjs';

forEachEngine((engine) => {
  let ws;
  let addresses;
  before(async () => {
    const module = resolve(BUILD, 'tests/modules/tide-ws-test-module.wasm');
    if (!existsSync(module)) {
      throw new Error(`${module} is missing: build the js config (or set TIDE_JS_BUILD)`);
    }
    ws = await startWsServer();
    addresses = { url: ws.url, http: ws.http, refused: `ws://127.0.0.1:${await freePort()}/` };
  });
  after(() => ws?.close());
  const s = pageSuite(engine, '/tests/browser/pages/ws.html');
  before(async () => {
    assert.deepEqual(await s.page.evaluate(() => window.wsScenarioNames), Object.keys(scenarios));
    assert.equal(await s.page.evaluate(() => typeof WebSocket), 'function');
  });

  for (const name of Object.keys(scenarios)) {
    test(`[${engine}] ${name}`, async () => {
      const r = await s.page.evaluate(([n, a]) => window.runWsScenario(n, a), [name, addresses]);
      assert.ok(r.ok, `${r.error}\n--- page console:\n${s.page.log.join('\n')}`);
    });
  }

  test(`[${engine}] a page without WebSocket gets ENOSYS from tide_ws_connect`, async () => {
    const r = await s.page.evaluate(async (url) => {
      const { load } = await import('/js/src/index.mjs');
      const saved = globalThis.WebSocket;
      let rt;
      try {
        delete globalThis.WebSocket;
        rt = await load(new URL('/build/tests/modules/tide-ws-test-module.wasm', location.href));
      } finally {
        globalThis.WebSocket = saved;
      }
      await rt.main(['ws']);
      try {
        await rt.call('ws_connect', [url]);
        return { name: 'resolved' };
      } catch (e) {
        return { name: e.name, code: e.code, message: e.message };
      } finally {
        rt.close();
      }
    }, addresses.url);
    assert.equal(r.name, 'TideError', JSON.stringify(r));
    assert.equal(r.code, 'ENOSYS', JSON.stringify(r));
    assert.match(r.message, /WebSocket is not available/);
  });
});
