// calls.test.mjs: rt.call() of exported C coroutines: every value type both
// ways, C errors as TideError, and what the host refuses before reaching C.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TideError, errors, load } from '../../js/src/node.mjs';
import { loadTest, requireModule } from './helpers.mjs';

let rt;
before(async () => {
  ({ rt } = await loadTest());
});
after(() => {
  assert.equal(rt.close(), 0, 'the loop frees cleanly: nothing leaked or left registered');
});

const isTide = (name, message) => (e) => {
  assert.ok(e instanceof TideError, `expected a TideError, got ${e}`);
  assert.equal(e.name, 'TideError');
  assert.equal(e.code, name);
  assert.equal(e.errno, errors[name]);
  if (message !== undefined) assert.equal(e.message, message);
  return true;
};

test('numbers go in and come out', async () => {
  assert.equal(await rt.call('add', [2, 3]), 5);
  assert.equal(await rt.call('add', [0.5, -0.25]), 0.25);
  assert.equal(await rt.call('add', [1e300, 1e300]), 2e300);
  assert.ok(Number.isNaN(await rt.call('add', [NaN, 1])));
  assert.equal(await rt.call('echo', [-0]), -0);
  assert.equal(await rt.call('echo', [Infinity]), Infinity);
});

test('strings round-trip, including non-ASCII, empty and large', async () => {
  assert.equal(await rt.call('echo', ['hello']), 'hello');
  assert.equal(await rt.call('echo', ['ünïcødé ✓ 🌊']), 'ünïcødé ✓ 🌊');
  assert.equal(await rt.call('echo', ['']), '');
  const big = 'x'.repeat(200_000) + 'é';
  assert.equal(await rt.call('echo', [big]), big);
});

test('bytes round-trip as a fresh Uint8Array', async () => {
  const b = new Uint8Array([0, 1, 2, 254, 255]);
  const out = await rt.call('echo', [b]);
  assert.ok(out instanceof Uint8Array);
  assert.deepEqual([...out], [...b]);
  /* A copy, not a view of wasm memory (which growth would detach). */
  assert.notEqual(out.buffer, rt._exports.memory.buffer);
  assert.deepEqual([...(await rt.call('echo', [new Uint8Array(0)]))], []);
  /* Other views send their own window of bytes. */
  const words = new Uint16Array([0x0201, 0x0403]);
  assert.deepEqual([...(await rt.call('echo', [words]))], [1, 2, 3, 4]);
  assert.deepEqual([...(await rt.call('echo', [new ArrayBuffer(3)]))], [0, 0, 0]);
  const large = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
  assert.deepEqual(await rt.call('echo', [large]), large);
});

test('JSON values round-trip', async () => {
  const v = { a: [1, 'two', null, { deep: true }], s: 'é' };
  assert.deepEqual(await rt.call('echo', [v]), v);
  assert.deepEqual(await rt.call('echo', [[]]), []);
  assert.equal(await rt.call('echo', [true]), true);
  assert.equal(await rt.call('echo', [false]), false);
});

test('none: null, undefined and no argument come back undefined', async () => {
  assert.equal(await rt.call('echo', [null]), undefined);
  assert.equal(await rt.call('echo', [undefined]), undefined);
  assert.equal(await rt.call('echo'), undefined);
});

test('a C error rejects with TideError {code, name, message}', async () => {
  await assert.rejects(rt.call('fail', [errors.ETIMEDOUT, 'too slow']), isTide('ETIMEDOUT', 'too slow'));
  await assert.rejects(rt.call('fail'), isTide('EIO', 'failed on purpose'));
  await assert.rejects(rt.call('fail', [errors.ECONNREFUSED, 'ünïcødé']), isTide('ECONNREFUSED', 'ünïcødé'));
  await assert.rejects(rt.call('add', ['x', 1]), isTide('EINVAL'));
});

test('calling a name nothing exports rejects with ENOENT', async () => {
  await assert.rejects(rt.call('no_such_coroutine'), isTide('ENOENT'));
  await assert.rejects(rt.call(''), isTide('ENOENT'));
});

test('a coroutine that sleeps resolves later, and calls run concurrently', async () => {
  const t0 = performance.now();
  const results = await Promise.all([
    rt.call('sleep_then', [30, 'a']),
    rt.call('sleep_then', [30, 'b']),
    rt.call('sleep_then', [10]),
  ]);
  assert.deepEqual(results, ['a', 'b', 'slept']);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 25, `slept only ${elapsed} ms`);
  assert.ok(elapsed < 1000, `took ${elapsed} ms: the sleeps did not overlap`);
});

test('the host refuses bad arguments before they reach C', async () => {
  const calls = rt.stats.calls;
  await assert.rejects(rt.call(42), TypeError);
  await assert.rejects(rt.call('echo', 'not an array'), TypeError);
  await assert.rejects(rt.call('echo', [() => 1]), TypeError);
  await assert.rejects(rt.call('echo', [10n]), TypeError);
  await assert.rejects(rt.call('echo', [Symbol('s')]), TypeError);
  const cyclic = {};
  cyclic.self = cyclic;
  await assert.rejects(rt.call('echo', [cyclic]), TypeError);
  await assert.rejects(rt.call('echo', [], { signal: 'nope' }), TypeError);
  assert.equal(rt.stats.calls, calls, 'nothing was spawned');
  assert.equal(await rt.call('add', [1, 1]), 2, 'the runtime still works');
});

test('register validates its arguments', () => {
  assert.throws(() => rt.register('', () => {}), TypeError);
  assert.throws(() => rt.register(7, () => {}), TypeError);
  assert.throws(() => rt.register('x', 'not a function'), TypeError);
  assert.equal(rt.register('x', () => {}), rt);
  assert.equal(rt.unregister('x'), true);
  assert.equal(rt.unregister('x'), false);
});

test('main() runs once per runtime', async () => {
  await assert.rejects(rt.main(['again']), isTide('ESTATE'));
  await assert.rejects(rt.main('nope'), TypeError);
});

test('the end of rt.main() flushes C stdio and a last partial line, as exit() natively', async () => {
  const out = [];
  const rt = await load(requireModule(), { stdout: (l) => out.push(l), stderr() {} });
  try {
    /* C printed "3\n" and "no newline, no fflush" into stdio's buffer only. */
    assert.equal(await rt.main(['t', '3', 'unflushed']), 3);
    assert.deepEqual(out, ['3', 'no newline, no fflush'], 'written when main resolved');
  } finally {
    rt.close();
  }
  assert.deepEqual(out, ['3', 'no newline, no fflush'], 'and only once');
});
