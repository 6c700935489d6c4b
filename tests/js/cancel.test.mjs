// cancel.test.mjs: cancellation both ways while host operations are in flight.
// JS -> C: aborting rt.call's signal cancels the C task (and through it the host
// operation it awaits). C -> JS: C cancelling a host operation aborts the signal
// its function got, and a late result is never delivered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TideError, errors } from '../../js/src/node.mjs';
import { loadTest, deferred, until, sleep, macrotask } from './helpers.mjs';

let rt;
before(async () => {
  ({ rt } = await loadTest());
});
after(() => {
  assert.equal(rt.close(), 0);
});

const isCanceled = (e) => {
  assert.ok(e instanceof TideError, `expected a TideError, got ${e}`);
  assert.equal(e.name, 'ECANCELED');
  assert.equal(e.code, errors.ECANCELED);
  return true;
};

/* Register `name` as a host function that waits until released, recording
 * its signal; returns the controls. */
function gate(name) {
  const g = { started: 0, signals: [], releases: [] };
  rt.register(name, (...args) => {
    const { signal } = args.at(-1);
    g.started++;
    g.signals.push(signal);
    const d = deferred();
    g.releases.push(d.resolve);
    return d.promise;
  });
  return g;
}

test('aborting a call whose task awaits a host function: signal fires, call rejects ECANCELED', async () => {
  const g = gate('wait');
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['wait'], { signal: ac.signal });
  await until(() => g.started === 1, 'the host function to start');
  const completions = rt.stats.completions;
  ac.abort();
  await assert.rejects(p, isCanceled);
  assert.equal(g.signals[0].aborted, true, 'C cancelled the host operation: the signal fired');
  /* The host function finishing afterwards changes nothing and is not delivered. */
  g.releases[0]('too late');
  await sleep(5);
  assert.equal(rt.stats.completions, completions);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
});

test('the signal a host function gets aborts when C cancels its operation', async () => {
  const g = gate('wait2');
  let abortEvents = 0;
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['wait2', 'x'], { signal: ac.signal });
  await until(() => g.started === 1, 'the host function to start');
  g.signals[0].addEventListener('abort', () => abortEvents++);
  assert.equal(g.signals[0].aborted, false);
  ac.abort();
  await assert.rejects(p, isCanceled);
  assert.equal(abortEvents, 1, 'aborted exactly once');
  assert.ok(g.signals[0].reason instanceof Error);
  assert.equal(g.signals[0].reason.name, 'AbortError');
});

test('a host function that rejects on abort is not delivered either', async () => {
  let started = 0;
  rt.register('abortable', (_, { signal }) => {
    started++;
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
  });
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['abortable', 1], { signal: ac.signal });
  await until(() => started === 1, 'start');
  const completions = rt.stats.completions;
  ac.abort();
  await assert.rejects(p, isCanceled);
  await sleep(5);
  assert.equal(rt.stats.completions, completions);
});

test('aborting a call of a sleeping task rejects ECANCELED', async () => {
  const ac = new AbortController();
  const p = rt.call('spin_cancel', [], { signal: ac.signal });
  await sleep(5);
  ac.abort();
  await assert.rejects(p, isCanceled);
});

test('a task may handle its cancellation and return a value', async () => {
  const ac = new AbortController();
  const p = rt.call('spin_uncancel', [], { signal: ac.signal });
  await macrotask();
  ac.abort();
  assert.equal(await p, 'cleaned up');
});

test('an already aborted signal rejects at once, spawning nothing', async () => {
  const calls = rt.stats.calls;
  await assert.rejects(rt.call('add', [1, 2], { signal: AbortSignal.abort() }), isCanceled);
  assert.equal(rt.stats.calls, calls);
});

test('aborting after the call finished changes nothing', async () => {
  const ac = new AbortController();
  assert.equal(await rt.call('add', [1, 2], { signal: ac.signal }), 3);
  ac.abort();
  await sleep(1);
  assert.equal(await rt.call('add', [2, 2]), 4);
});

test('aborting before the first step: the coroutine never runs its host call', async () => {
  const g = gate('never');
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['never'], { signal: ac.signal });
  ac.abort(); /* same turn: the task has not taken its first step */
  await assert.rejects(p, isCanceled);
  await sleep(5);
  assert.equal(g.started, 0);
});

test('the race: a result and an abort in the same turn give exactly one outcome', async () => {
  for (let i = 0; i < 20; i++) {
    const g = gate('race');
    const ac = new AbortController();
    const p = rt.call('call_host_any', ['race'], { signal: ac.signal });
    await until(() => g.started === 1, 'start');
    if (i % 2) {
      g.releases[0]('won');
      ac.abort();
    } else {
      ac.abort();
      g.releases[0]('won');
    }
    const outcome = await p.then((v) => v, (e) => (isCanceled(e) ? 'cancelled' : e));
    assert.ok(outcome === 'won' || outcome === 'cancelled', `got ${outcome}`);
  }
  await sleep(2);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
});

test('C cancelling a host call on its own (a timeout in C) aborts the signal', async (t) => {
  /* Needs a coroutine that cancels its host call itself; the module may not
   * have one yet (call_host_timeout(ms, name, ...args) -> ETIMEDOUT). */
  const g = gate('slow');
  let r;
  try {
    r = await rt.call('call_host_timeout', [10, 'slow']).then(
      (v) => ({ v }),
      (e) => ({ e }),
    );
  } catch (e) {
    r = { e };
  }
  if (r.e instanceof TideError && r.e.name === 'ENOENT' && g.started === 0) {
    t.skip('the test module has no call_host_timeout coroutine');
    return;
  }
  assert.equal(r.e?.name, 'ETIMEDOUT');
  assert.equal(g.started, 1);
  assert.equal(g.signals[0].aborted, true);
  const completions = rt.stats.completions;
  g.releases[0]('late');
  await sleep(5);
  assert.equal(rt.stats.completions, completions, 'a completion after cancel is not delivered');
});
