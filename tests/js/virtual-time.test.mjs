// virtual-time.test.mjs: a loop on a virtual clock on the JS host:
// load(source, {clock}) and rt.advance() / rt.now() over tide_loop_set_clock
// (tide.h, "Virtual time"). The coroutines are the general test module's
// (tests/modules/test-module.c).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TideError, errors } from '../../js/src/node.mjs';
import { loadTest, macrotask } from './helpers.mjs';

const DAY_MS = 86_400_000;

test('autojump: a day of sleeping is over at once, at exactly a day of loop time', async (t) => {
  const { rt } = await loadTest({ clock: 'autojump' });
  t.after(() => rt.close());
  const t0 = rt.now();
  const started = performance.now();
  assert.equal(await rt.call('sleep_then', [DAY_MS, 'a day']), 'a day');
  assert.equal(rt.now() - t0, DAY_MS);
  assert.ok(performance.now() - started < 30_000, 'a day took (generously) under 30 s');
});

test('autojump: the asyncio toolbox (task group, wait_for timeout, queue) gives the same results', async (t) => {
  const { rt } = await loadTest({ clock: 'autojump' });
  t.after(() => rt.close());
  assert.equal(await rt.call('toolbox'), 'group=bca wait_for=ETIMEDOUT queue=123');
  assert.equal(await rt.call('timer_order'), 'sSabcdz');
});

test('autojump waits for a pending host function: its timeout does not jump past it', async (t) => {
  const { rt } = await loadTest({ clock: 'autojump' });
  t.after(() => rt.close());
  rt.register('slowish', () => new Promise((resolve) => setTimeout(() => resolve('answered'), 50)));
  const t0 = rt.now();
  /* C gives the host call 5 s of loop time: no loop time passes while it is
   * in flight, so the answer (50 ms of real time later) wins. */
  assert.equal(await rt.call('call_host_timeout', [5000, 'slowish']), 'answered');
  assert.equal(rt.now() - t0, 0);
  /* So a host function that never answers holds the clock still (no timeout
   * fires): only a cancellation ends it. */
  rt.register('never', () => new Promise(() => {}));
  const ac = new AbortController();
  const p = rt.call('call_host_timeout', [5000, 'never'], { signal: ac.signal });
  for (let i = 0; i < 5; i++) await macrotask();
  assert.equal(rt.now() - t0, 0);
  ac.abort();
  await assert.rejects(p);
});

test('virtual: time moves only with advance(); what is due runs on the next tick', async (t) => {
  const { rt } = await loadTest({ clock: 'virtual' });
  t.after(() => rt.close());
  const t0 = rt.now();
  let done = false;
  const p = rt.call('sleep_then', [1000, 'woke']).then((v) => {
    done = true;
    return v;
  });
  for (let i = 0; i < 10; i++) await macrotask();
  assert.equal(done, false);
  rt.advance(999);
  for (let i = 0; i < 10; i++) await macrotask();
  assert.equal(done, false);
  rt.advance(1);
  assert.equal(done, false); /* never inside advance() */
  assert.equal(await p, 'woke');
  assert.equal(rt.now() - t0, 1000);
});

test('clock options and advance() refuse what they cannot do', async (t) => {
  await assert.rejects(loadTest({ clock: 'fast' }), TypeError);
  const { rt } = await loadTest();
  t.after(() => rt.close());
  assert.throws(() => rt.advance(10), (e) => e instanceof TideError && e.code === 'ESTATE' && e.errno === errors.ESTATE);
  assert.throws(() => rt.advance(-1), TypeError);
  assert.throws(() => rt.advance(Number.NaN), TypeError);
});
