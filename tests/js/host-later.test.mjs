// host-later.test.mjs: the two internal hooks the runtime's own host functions
// use on every request of a busy socket (js/src/host-ops.mjs; net-conn.mjs's
// fd_wait): completing later through options._settle instead of a promise, and
// a cancel hook (options._whenCancelled) instead of the signal. They must keep
// every guarantee of a host operation: one completion, none after C cancelled,
// and the record back in the pool either way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { LATER } from '../../js/src/host-ops.mjs';
import { loadTest, sleep, until } from './helpers.mjs';

let rt;
before(async () => {
  ({ rt } = await loadTest());
});
after(() => {
  assert.equal(rt.close(), 0);
});

test('a function that returns LATER completes once, through _settle', async () => {
  let options = null;
  rt.register('later', (x, o) => {
    options = o;
    return LATER;
  });
  const p = rt.call('call_host_any', ['later', 20]);
  await until(() => options !== null, 'the function to start');
  assert.equal(rt._pending.ops, 1, 'the operation waits');
  const completions = rt.stats.completions;
  options._settle(true, 21);
  options._settle(true, 99); /* a second outcome changes nothing */
  assert.equal(await p, 21);
  assert.equal(rt.stats.completions, completions + 1);
  options._settle(false, new Error('too late'));
  await sleep(5);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
  rt.unregister('later');
});

test('a cancel hook runs once when C cancels, and a late _settle is dropped', async () => {
  let options = null;
  const cancels = [];
  rt.register('later', (o) => {
    options = o;
    o._whenCancelled((arg) => cancels.push(arg), 'the argument');
    return LATER;
  });
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['later'], { signal: ac.signal });
  await until(() => options !== null, 'the function to start');
  const completions = rt.stats.completions;
  ac.abort();
  await assert.rejects(p, (e) => e === ac.signal.reason);
  await until(() => cancels.length === 1, 'the hook');
  assert.deepEqual(cancels, ['the argument']);
  /* What the function does next (net-conn.mjs: it stops waiting) reaches nobody. */
  options._settle(true, 1);
  await sleep(5);
  assert.equal(rt.stats.completions, completions);
  assert.deepEqual(cancels, ['the argument'], 'the hook ran once');
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
  rt.unregister('later');
});
