// drive.test.mjs: how the host drives the loop (src/backend/js/ABI.md): completions are
// batched into one tick, timers keep the native order, the C side can ask for a
// tick (schedule), one host timer per loop, and steady traffic does not grow
// memory or leave state behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { loadTest, deferred, until, macrotask } from './helpers.mjs';

let rt;
before(async () => {
  ({ rt } = await loadTest());
});
after(() => {
  assert.equal(rt.close(), 0);
});

test('N completions resolved in one microtask turn cost one tick', async () => {
  const N = 100;
  const pending = [];
  rt.register('gate', (i) => {
    const d = deferred();
    pending.push(() => d.resolve(i * 3));
    return d.promise;
  });
  const calls = Array.from({ length: N }, (_, i) => rt.call('call_host_any', ['gate', i]));
  await until(() => pending.length === N, 'all host functions to start');
  await macrotask(); /* let the loop settle: nothing is ready now */
  const ticks = rt.stats.ticks;
  const completions = rt.stats.completions;
  for (const release of pending) release(); /* all in the same turn */
  const results = await Promise.all(calls);
  assert.deepEqual(results, Array.from({ length: N }, (_, i) => i * 3));
  assert.equal(rt.stats.completions - completions, N);
  assert.equal(rt.stats.ticks - ticks, 1, 'one tick delivered all completions and resumed all tasks');
});

test('more completions than the ring holds: each reaches its own call once, with no extra tick', async () => {
  /* The ring has 256 entries (ABI.md "Completions"): 1000 answers in one
   * turn fill it several times over, and C empties it (tide_js_take) between
   * fills, inside the first tick. Strings need a block each and numbers do
   * not: mixed, each still reaches its own call. The ticks are the loop's own:
   * resuming 1000 tasks and finishing their calls is more than one tick's
   * budget of 1024 callbacks, so it takes two, as it would natively. */
  const N = 1000;
  const pending = [];
  rt.register('gate_mixed', (i) => {
    const d = deferred();
    pending.push(() => d.resolve(i % 3 === 0 ? `s${i}` : i));
    return d.promise;
  });
  const calls = Array.from({ length: N }, (_, i) => rt.call('call_host_any', ['gate_mixed', i]));
  await until(() => pending.length === N, 'all host functions to start');
  await macrotask();
  const ticks = rt.stats.ticks;
  for (const release of pending) release();
  const results = await Promise.all(calls);
  assert.deepEqual(results, Array.from({ length: N }, (_, i) => (i % 3 === 0 ? `s${i}` : i)));
  assert.equal(rt.stats.ticks - ticks, 2);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
});

test('N sync host functions started by one tick complete in one more tick', async () => {
  const N = 100;
  rt.register('double', (x) => x * 2);
  const ticks = rt.stats.ticks;
  const results = await Promise.all(Array.from({ length: N }, (_, i) => rt.call('call_host', [i])));
  assert.deepEqual(results, Array.from({ length: N }, (_, i) => i * 2));
  /* One tick runs the N first steps (N host calls), one delivers the N
   * completions and finishes the N tasks. */
  assert.equal(rt.stats.ticks - ticks, 2);
});

test('timers fire in (deadline, start order) as natively: call_soon first, then by deadline', async () => {
  /* timer_order schedules, in this order: z@20, a@5, b@5, s (call_soon), c@10,
   * S (call_soon), d@10. The rules tests/c asserts natively
   * (call_soon_runs_before_due_call_later_scheduled_after,
   * call_later_order_by_deadline_then_start_order) give "sSabcdz". */
  assert.equal(await rt.call('timer_order'), 'sSabcdz');
  /* Still so when many run at once (shared deadlines across calls). */
  const many = await Promise.all(Array.from({ length: 20 }, () => rt.call('timer_order')));
  assert.deepEqual(many, Array(20).fill('sSabcdz'));
});

test('the C side can ask for a tick (schedule import): tide_async wakes the task', async () => {
  assert.equal(await rt.call('async_wake'), 'woken');
});

test('one host timer per loop, not one per C timer', async () => {
  const timers = rt.stats.timers;
  /* 50 sleeps with the same deadline share the single host timer. */
  await Promise.all(Array.from({ length: 50 }, () => rt.call('sleep_then', [20])));
  const armed = rt.stats.timers - timers;
  assert.ok(armed >= 1 && armed <= 3, `armed ${armed} host timers for 50 equal C deadlines`);
});

test('1e5 host calls do not grow memory or leave state behind', async () => {
  rt.register('double', (x) => x * 2);
  const batch = async (n, base) => {
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(rt.call('call_host', [base + i]));
    const rs = await Promise.all(ps);
    for (let i = 0; i < n; i++) assert.equal(rs[i], (base + i) * 2);
  };
  /* Warm up: the id tables and free lists reach their working size. */
  for (let k = 0; k < 5; k++) await batch(1000, k * 1000);
  const bytes = rt._exports.memory.buffer.byteLength;
  const ops = rt.stats.hostCalls;
  const TOTAL = 100_000;
  for (let k = 0; k < TOTAL / 1000; k++) await batch(1000, k * 1000);
  assert.equal(rt.stats.hostCalls - ops, TOTAL);
  assert.equal(rt._exports.memory.buffer.byteLength, bytes, 'wasm memory did not grow');
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
  assert.equal(rt._exports.tide_js_has_ref(rt._loop), 0, 'nothing referenced is left in C');
  assert.equal(rt._exports.tide_js_next_timeout(rt._loop), -1, 'no timer is left in C');
});
