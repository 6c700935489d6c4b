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

/* A call aborted through its signal rejects with the signal's reason, as
 * fetch() does: the same object, so `e.name === 'AbortError'` works. */
const isAbortOf = (signal) => (e) => {
  assert.equal(e, signal.reason, `expected the signal's reason, got ${e}`);
  assert.equal(e.name, 'AbortError');
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

test('aborting a call whose task awaits a host function: signal fires, call rejects with the reason', async () => {
  const g = gate('wait');
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['wait'], { signal: ac.signal });
  await until(() => g.started === 1, 'the host function to start');
  const completions = rt.stats.completions;
  ac.abort();
  await assert.rejects(p, isAbortOf(ac.signal));
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
  await assert.rejects(p, isAbortOf(ac.signal));
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
  await assert.rejects(p, isAbortOf(ac.signal));
  await sleep(5);
  assert.equal(rt.stats.completions, completions);
});

test('aborting a call of a sleeping task rejects with an AbortError', async () => {
  const ac = new AbortController();
  const p = rt.call('spin_cancel', [], { signal: ac.signal });
  await sleep(5);
  ac.abort();
  await assert.rejects(p, isAbortOf(ac.signal));
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
  const aborted = AbortSignal.abort();
  await assert.rejects(rt.call('add', [1, 2], { signal: aborted }), isAbortOf(aborted));
  assert.equal(rt.stats.calls, calls);
});

test('a timeout is told from a user abort, and a custom reason comes back as given', async () => {
  /* AbortSignal.timeout() aborts with a TimeoutError, so a caller can tell a
   * deadline from a user's abort without a flag of its own. */
  const timeout = AbortSignal.timeout(20);
  const t0 = performance.now();
  await assert.rejects(rt.call('spin_cancel', [], { signal: timeout }), (e) => {
    assert.equal(e, timeout.reason);
    assert.equal(e.name, 'TimeoutError');
    return true;
  });
  assert.ok(performance.now() - t0 >= 15, 'it rejected when the deadline passed, not before');
  const ac = new AbortController();
  const why = new Error('user pressed stop');
  const p = rt.call('spin_cancel', [], { signal: ac.signal });
  await macrotask();
  ac.abort(why);
  await assert.rejects(p, (e) => e === why);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 }, 'the C task ended');
});

test('a C task cancelled for its own reasons still rejects with TideError ECANCELED', async () => {
  /* No abort from JS (with or without a signal given): ECANCELED is C's
   * outcome, reported as any other C error. */
  const ac = new AbortController();
  for (const options of [{}, { signal: ac.signal }]) {
    await assert.rejects(rt.call('fail', [errors.ECANCELED, 'gave up'], options), (e) => {
      assert.ok(e instanceof TideError, `expected a TideError, got ${e}`);
      assert.equal(e.name, 'TideError');
      assert.equal(e.code, 'ECANCELED');
      assert.equal(e.errno, errors.ECANCELED);
      return true;
    });
  }
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
  await assert.rejects(p, isAbortOf(ac.signal));
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
    const outcome = await p.then((v) => v, (e) => (e === ac.signal.reason ? 'cancelled' : e));
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
  if (r.e instanceof TideError && r.e.code === 'ENOENT' && g.started === 0) {
    t.skip('the test module has no call_host_timeout coroutine');
    return;
  }
  assert.equal(r.e?.code, 'ETIMEDOUT');
  assert.equal(g.started, 1);
  assert.equal(g.signals[0].aborted, true);
  const completions = rt.stats.completions;
  g.releases[0]('late');
  await sleep(5);
  assert.equal(rt.stats.completions, completions, 'a completion after cancel is not delivered');
});

test('a signal first read after C cancelled the operation reads aborted', async () => {
  let options;
  let started = false;
  rt.register('wait_unread', (_x, o) => {
    options = o;
    started = true;
    return new Promise(() => {}); /* never settles by itself */
  });
  const ac = new AbortController();
  const p = rt.call('call_host_any', ['wait_unread', 1], { signal: ac.signal });
  await until(() => started, 'the host function to start');
  ac.abort();
  await assert.rejects(p, isAbortOf(ac.signal));
  await macrotask();
  assert.equal(options.signal.aborted, true, 'C cancelled it before the signal was ever made');
  assert.equal(options.signal, options.signal);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
});
