// inline.test.mjs: ticks from microtasks (scheduler.mjs kick, src/backend/js/ABI.md "How
// the host drives the loop"). A completion or a call is taken to C from a
// microtask when C waits for nothing else, for at most a few ms at a time: a
// C <-> JS ping-pong must never keep timers, immediates or I/O from running.
// Also: the fast paths for values that travel on every host call keep their
// meaning.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadTest, deferred, macrotask } from './helpers.mjs';

let rt;
before(async () => {
  ({ rt } = await loadTest());
  rt.register('pong_async', async (x) => x);
  rt.register('pong_sync', (x) => x);
});
after(() => {
  assert.equal(rt.close(), 0);
});

const FILE = fileURLToPath(import.meta.url);

/* How long a macrotask JS queues while C and JS ping-pong may wait, at most:
 * generous (the host's window is 1 ms; this machine may be shared and slow),
 * yet far below SAFETY_MS, after which the ping-pong stops by itself so that
 * a host that starves the event loop fails this test instead of hanging it. */
const LIMIT_MS = 250;
const SAFETY_MS = 5000;

for (const fn of ['pong_async', 'pong_sync']) {
  test(`a C <-> JS ping-pong (${fn}) does not starve setTimeout(0), setImmediate or I/O`, async (t) => {
    let stop = false;
    let trips = 0;
    const t0 = performance.now();
    /* Each round: JS calls C, C calls the JS function, its value goes back to
     * C, C's result back to JS: nothing but microtasks if the host lets it. */
    const pingpong = (async () => {
      while (!stop && performance.now() - t0 < SAFETY_MS) {
        assert.equal(await rt.call('call_host_any', [fn, trips]), trips);
        trips++;
      }
    })();
    const kinds = [
      ['setTimeout(0)', (f) => setTimeout(f, 0)],
      ['setImmediate', (f) => setImmediate(f)],
      ['fs.stat (I/O)', (f) => stat(FILE, f)],
    ];
    const waits = [];
    try {
      for (let round = 0; round < 5; round++) {
        for (const [kind, schedule] of kinds) {
          const before = trips;
          const start = performance.now();
          await new Promise((resolve) => schedule(resolve));
          waits.push({ kind, ms: performance.now() - start, trips: trips - before });
        }
      }
    } finally {
      stop = true;
      await pingpong;
    }
    const worst = waits.reduce((a, b) => (b.ms > a.ms ? b : a));
    t.diagnostic(`${trips} round trips; longest wait: ${worst.kind}, ${worst.ms.toFixed(1)} ms ` +
      `(${worst.trips} round trips meanwhile)`);
    assert.ok(worst.ms < LIMIT_MS,
      `${worst.kind} waited ${worst.ms.toFixed(1)} ms while ${worst.trips} round trips ran ` +
      `(limit ${LIMIT_MS} ms): the host starves the event loop`);
    assert.ok(trips > 0, 'the ping-pong made progress meanwhile');
    assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
  });
}

test('a round trip with nothing else in flight waits for no macrotask', async () => {
  await macrotask(); /* let the event loop turn: the host may open a window */
  const order = [];
  setImmediate(() => order.push('immediate'));
  order.push(`call ${await rt.call('call_host_any', ['pong_async', 1])}`);
  await macrotask();
  assert.deepEqual(order, ['call 1', 'immediate']);
});

test('with another host operation in flight, completions wait for the macrotask tick (batching)', async () => {
  const gate = deferred();
  rt.register('gate', () => gate.promise);
  const held = rt.call('call_host_any', ['gate']);
  try {
    await macrotask();
    await macrotask();
    assert.equal(rt._pending.ops, 1, 'the gate is in flight');
    const order = [];
    setImmediate(() => order.push('immediate'));
    order.push(`call ${await rt.call('call_host_any', ['pong_async', 2])}`);
    assert.deepEqual(order, ['immediate', 'call 2']);
  } finally {
    gate.resolve('done');
  }
  assert.equal(await held, 'done');
});

test('a call\'s first step runs before a macrotask queued after it, window open or not', async () => {
  let started = false;
  rt.register('mark', () => {
    started = true;
    return 1;
  });
  const spin = (ms) => {
    const t0 = performance.now();
    while (performance.now() - t0 < ms);
  };
  for (let i = 0; i < 40; i++) {
    /* A round trip from a microtask, then more than the window's 1 ms with no
     * macrotask in between (every other time): the host must fall back to its
     * macrotask tick, and queue it before the setImmediate below. */
    assert.equal(await rt.call('call_host_any', ['pong_sync', i]), i);
    if (i % 2 === 0) spin(3);
    started = false;
    const p = rt.call('call_host_any', ['mark']);
    const seen = await new Promise((resolve) => setImmediate(() => resolve(started)));
    assert.ok(seen, `round ${i}: the host function ran only after a later setImmediate`);
    assert.equal(await p, 1);
  }
});

test('values through the per-call fast paths keep their meaning', async () => {
  const cases = [
    [42.5, 42.5],
    [-0, -0],
    [NaN, NaN],
    [undefined, undefined],
    [null, undefined],
    ['', ''],
    ['ünïcødé ✓ 🌊', 'ünïcødé ✓ 🌊'],
    [new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])],
    [new Uint8Array(0), new Uint8Array(0)],
    [Buffer.from('abc'), new Uint8Array([97, 98, 99])],
    [new Uint16Array([0x0201]), new Uint8Array([1, 2])],
    [{ a: [1, 'x'] }, { a: [1, 'x'] }],
  ];
  for (const [value, expected] of cases) {
    rt.register('give', () => value);
    const got = await rt.call('call_host_any', ['give']);
    if (expected instanceof Uint8Array) {
      assert.ok(got instanceof Uint8Array, `${value}: got ${got}`);
      assert.deepEqual([...got], [...expected]);
    } else {
      assert.deepEqual(got, expected, `${JSON.stringify(value)}`);
      if (Object.is(expected, -0)) assert.ok(Object.is(got, -0), 'keeps -0');
    }
  }
  /* Bytes are copied when the function's value settles: changing the buffer
   * afterwards (a reused read buffer, say), before C has it, changes nothing
   * C gets. */
  for (const make of [(a) => new Uint8Array(a), (a) => Buffer.from(a)]) {
    let buf = make([7, 8, 9]);
    rt.register('give', () => {
      queueMicrotask(() => buf.fill(0)); /* runs before the completion goes out */
      return buf;
    });
    assert.deepEqual([...(await rt.call('call_host_any', ['give']))], [7, 8, 9]);
    buf = make([7, 8, 9]);
    const d = deferred();
    rt.register('give', () => d.promise);
    const call = rt.call('call_host_any', ['give']);
    await macrotask();
    await macrotask(); /* the host has started give and waits for its promise */
    d.promise.then(() => buf.fill(0)); /* runs right after the host took the value */
    d.resolve(buf);
    assert.deepEqual([...(await call)], [7, 8, 9]);
  }
  /* Arguments: numbers and none, alone and mixed with the rest. */
  let seen;
  rt.register('args', (...a) => {
    seen = a.slice(0, -1);
    return a.length - 1;
  });
  assert.equal(await rt.call('call_host_any', ['args', 1, null, 2.5]), 3);
  assert.deepEqual(seen, [1, undefined, 2.5]);
  assert.equal(await rt.call('call_host_any', ['args', 1, 'two', new Uint8Array([3]), { four: 4 }]), 4);
  assert.deepEqual(seen, [1, 'two', new Uint8Array([3]), { four: 4 }]);
  assert.equal(await rt.call('call_host_any', ['args']), 0);
  assert.deepEqual(seen, []);
  /* The last argument has the signal (and nothing is made until it is read). */
  rt.register('args', (options) => options.signal instanceof AbortSignal && !options.signal.aborted);
  assert.equal(await rt.call('call_host_any', ['args']), true);
  rt.register('args', ({ signal }) => signal instanceof AbortSignal);
  assert.equal(await rt.call('call_host_any', ['args']), true);
});

test('C sees the time of the tick it runs in, also when the host read no clock for it', async () => {
  /* Ticks that follow each other in a slice do not all read the clock
   * (scheduler.mjs #clock): a tick given no time lets C read it when it needs
   * it. Fast round trips make the host skip reads; then a host function
   * spins 25 ms inside the chain, and the loop's time in the ticks right
   * after must be the clock's, not one left over from before the spin (a
   * sleep would count from it and end early). */
  const spin = (ms) => {
    const t0 = performance.now();
    while (performance.now() - t0 < ms);
    return 0;
  };
  rt.register('spin', (ms) => Promise.resolve(spin(ms)));
  /* The number of round trips before the spin varies, so that in some rounds
   * the ticks after it are ones that skip the read (at most 15 in a row). */
  for (let round = 0; round < 16; round++) {
    for (let i = 0; i < 20 + round; i++) {
      assert.equal(await rt.call('call_host_any', ['pong_async', i]), i);
    }
    assert.equal(await rt.call('call_host_any', ['spin', 25]), 0);
    const before = performance.now();
    const loopNow = await rt.call('loop_now');
    /* C's clock is performance.now() in whole ms. */
    assert.ok(loopNow >= Math.floor(before),
      `round ${round}: C's time ${loopNow} ms is behind the clock's ${before.toFixed(1)} ms`);
    const t0 = performance.now();
    assert.equal(await rt.call('sleep_then', [20, 'woke']), 'woke');
    const slept = performance.now() - t0;
    assert.ok(slept >= 19, `round ${round}: a 20 ms sleep ended after ${slept.toFixed(1)} ms`);
  }
});
