// worker.test.mjs: the same C module inside a module Web Worker (importing the
// package's browser entry), in Chromium and Firefox; the page awaits results
// over postMessage, and a cancel from the page aborts the worker's rt.call
// signal: ECANCELED in C.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { forEachEngine, pageSuite } from './harness.mjs';

forEachEngine((engine) => {
  const s = pageSuite(engine, '/tests/browser/pages/worker.html');
  before(async () => {
    const info = await s.page.evaluate(() => window.workerReady());
    assert.equal(info.inWorker, true, 'the runtime loaded in a worker scope');
  });

  /* opts ?? {}: CDP carries an undefined array element over as null. */
  const call = (name, args, opts) =>
    s.page.evaluate(([n, a, o]) => window.workerCall(n, a, o), [name, args, opts ?? {}]);

  test(`[${engine}] the page awaits results computed by C in the worker`, async () => {
    assert.deepEqual(await call('add', [40, 2]), { id: 1, value: 42 });
    const r = await call('sleep_then', [20, 'from the worker']);
    assert.equal(r.value, 'from the worker');
    const e = await call('fail', [-5, 'worker failure']);
    assert.equal(e.error.tide, true);
    assert.deepEqual([e.error.name, e.error.code, e.error.errno], ['TideError', 'ETIMEDOUT', -5]);
    assert.equal(e.error.message, 'worker failure');
    const many = await s.page.evaluate(() =>
      Promise.all(Array.from({ length: 50 }, (_, i) => window.workerCall('add', [i, i]))));
    assert.deepEqual(many.map((m) => m.value), Array.from({ length: 50 }, (_, i) => 2 * i));
  });

  test(`[${engine}] cancellation crosses into the worker: the page aborts, the call rejects with the AbortError`,
    async () => {
      const t0 = Date.now();
      const r = await call('spin_cancel', [], { cancelAfterMs: 50 });
      assert.equal(r.error?.name, 'AbortError', JSON.stringify(r));
      assert.equal(r.error.tide, false, 'the signal\'s reason, not a TideError');
      assert.ok(Date.now() - t0 < 5000);
      /* A task that handles the cancellation settles with its own value. */
      const u = await call('spin_uncancel', [], { cancelAfterMs: 20 });
      assert.equal(u.value, 'cleaned up');
      /* A burst cancelled midway in the worker. */
      const b = await call('burst', [1e9, 1000], { cancelAfterMs: 50 });
      assert.equal(b.error?.name, 'AbortError');
      /* The worker's runtime still works afterwards. */
      assert.equal((await call('add', [1, 2])).value, 3);
    });
});
