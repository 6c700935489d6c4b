// host.test.mjs: host functions (JS called from C through tide_host_call):
// sync and async, every value type back to C, thrown errors mapped to TIDE_E*
// codes that come back out through a C coroutine unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TideError, errors } from '../../js/src/node.mjs';
import { loadTest, sleep } from './helpers.mjs';

let rt;
before(async () => {
  ({ rt } = await loadTest());
});
after(() => {
  assert.equal(rt.close(), 0);
});

const isTide = (name, message) => (e) => {
  assert.ok(e instanceof TideError, `expected a TideError, got ${e}`);
  assert.equal(e.name, 'TideError');
  assert.equal(e.code, name);
  assert.equal(e.errno, errors[name]);
  if (message !== undefined) assert.equal(e.message, message);
  return true;
};

test('a sync host function: C awaits its value', async () => {
  rt.register('double', (x) => x * 2);
  assert.equal(await rt.call('call_host', [21]), 42);
});

test('an async host function: C awaits its promise', async () => {
  rt.register('double', async (x) => {
    await sleep(5);
    return x * 2;
  });
  assert.equal(await rt.call('call_host', [4]), 8);
});

test('host functions get the arguments C passed, then {signal}', async () => {
  let seen;
  rt.register('inspect', (...args) => {
    seen = args;
    return 'ok';
  });
  const bytes = new Uint8Array([9, 8]);
  assert.equal(await rt.call('call_host_any', ['inspect', 1.5, 'two', bytes, { j: [1] }, null]), 'ok');
  assert.equal(seen.length, 6);
  assert.deepEqual(seen.slice(0, 5), [1.5, 'two', bytes, { j: [1] }, undefined]);
  assert.ok(seen[5].signal instanceof AbortSignal);
  assert.equal(seen[5].signal.aborted, false);
});

test('numbers and nones reach the function as C passed them, in every position', async () => {
  /* Up to three numbers or nones travel as the host_start import's own
   * parameters (ABI.md, "Starting an operation"); four, or any other value,
   * as a value list. Both must give the function the same arguments. */
  let seen;
  rt.register('inspect', (...args) => {
    seen = args;
    return 'ok';
  });
  const cases = [
    [], [1.5], [null], [0, null], [null, 2], [-0, NaN, Infinity], [null, null, null],
    [1, null, 3], [2 ** 53, -(2 ** 53), 5e-324], [1, 2, 3, 4], [null, 1, null, 2],
    [1, 'two', 3],
  ];
  for (const args of cases) {
    seen = undefined;
    assert.equal(await rt.call('call_host_any', ['inspect', ...args]), 'ok');
    assert.equal(seen.length, args.length + 1, `${args.length} arguments and the options`);
    assert.deepEqual(seen.slice(0, -1), args.map((a) => (a === null ? undefined : a)),
      JSON.stringify(args));
    args.forEach((a, i) => assert.ok(Object.is(seen[i], a ?? undefined), `argument ${i} is the very same (-0 stays -0)`));
    assert.ok(seen.at(-1).signal instanceof AbortSignal);
  }
});

test('C encodes a value list only for arguments that do not travel as parameters', async () => {
  /* ABI.md, "Starting an operation": up to three numbers or nones come as
   * host_start's parameters with (args_ptr, args_len) = (0, 0); anything else
   * as a value list, with shape -1. */
  const seen = [];
  rt._onHostCall = (_op, name, argsLen, shape) => {
    if (name === 'shape_probe') seen.push({ argsLen, shape });
  };
  rt.register('shape_probe', () => 'ok');
  try {
    for (const args of [[], [1.5], [null, 2], [1, null, 3], [1, 2, 3, 4], [1, 'two']]) {
      assert.equal(await rt.call('call_host_any', ['shape_probe', ...args]), 'ok');
    }
  } finally {
    rt._onHostCall = undefined;
  }
  assert.deepEqual(seen.map((s) => s.argsLen === 0), [true, true, true, true, false, false]);
  assert.deepEqual(seen.map((s) => s.shape >= 0), [true, true, true, true, false, false]);
});

test('host functions are found by name however many names and however long', async () => {
  /* C names the first 32 names of up to 31 bytes by an id, the others by
   * their bytes every time: each must reach its own function, also after
   * re-registering. */
  const names = [];
  for (let i = 0; i < 40; i++) names.push(`name_${i}`);
  names.push('n'.repeat(31), 'n'.repeat(32), `long_${'x'.repeat(200)}`, 'ünïcødé');
  for (let round = 0; round < 2; round++) {
    for (const [i, name] of names.entries()) rt.register(name, (x) => x * 1000 + i + round);
    for (const [i, name] of names.entries()) {
      assert.equal(await rt.call('call_host_any', [name, 1]), 1000 + i + round, name);
    }
  }
  for (const name of names) rt.unregister(name);
  await assert.rejects(rt.call('call_host_any', ['name_3', 1]), isTide('ENOENT'));
  await assert.rejects(rt.call('call_host_any', [`long_${'x'.repeat(200)}`, 1]), isTide('ENOENT'));
});

test('every kind of host value reaches C and comes back', async () => {
  const values = [7, -0.5, 'text ✓', '', new Uint8Array([1, 2, 3]), { a: [true, null] }, [1, 2], false];
  for (const v of values) {
    rt.register('give', () => v);
    assert.deepEqual(await rt.call('call_host_any', ['give']), v);
    rt.register('give', async () => v);
    assert.deepEqual(await rt.call('call_host_any', ['give']), v);
  }
  for (const none of [null, undefined]) {
    rt.register('give', () => none);
    assert.equal(await rt.call('call_host_any', ['give']), undefined);
  }
  rt.register('give', () => new Uint16Array([0x0201]));
  assert.deepEqual([...(await rt.call('call_host_any', ['give']))], [1, 2]);
  rt.register('give', () => new Uint8Array(300_000).fill(7));
  assert.equal((await rt.call('call_host_any', ['give'])).length, 300_000);
});

test('a thrown error reaches C as code + message and comes back unchanged', async () => {
  const cases = [
    [Object.assign(new Error('too slow'), { code: 'ETIMEDOUT' }), 'ETIMEDOUT', 'too slow'],
    [Object.assign(new Error('refused'), { code: errors.ECONNREFUSED }), 'ECONNREFUSED', 'refused'],
    [new TideError(errors.EPIPE, 'pipe gone'), 'EPIPE', 'pipe gone'],
    [new Error('plain'), 'EHOST', 'plain'],
    [Object.assign(new Error('odd'), { code: 'NOT_A_TIDE_CODE' }), 'EHOST', 'odd'],
    [Object.assign(new Error('odd number'), { code: 5 }), 'EHOST', 'odd number'],
    ['a bare string', 'EHOST', 'a bare string'],
    [Object.assign(new Error('ünïcødé'), { code: 'EIO' }), 'EIO', 'ünïcødé'],
  ];
  for (const [thrown, name, message] of cases) {
    rt.register('boom', () => {
      throw thrown;
    });
    await assert.rejects(rt.call('call_host_any', ['boom']), isTide(name, message), `sync ${name}`);
    rt.register('boom', async () => {
      await sleep(1);
      throw thrown;
    });
    await assert.rejects(rt.call('call_host_any', ['boom']), isTide(name, message), `async ${name}`);
  }
});

test("Node's system errors map by their code", async () => {
  const { readFile } = await import('node:fs/promises');
  rt.register('read', (path) => readFile(path));
  await assert.rejects(rt.call('call_host_any', ['read', '/definitely/not/here']), isTide('ENOENT'));
});

test('no function under the name: C sees ENOENT', async () => {
  await assert.rejects(rt.call('call_host_any', ['nobody_registered_this']), (e) => {
    assert.ok(isTide('ENOENT')(e));
    assert.match(e.message, /nobody_registered_this/);
    return true;
  });
});

test('a value C cannot take fails the operation with EINVAL', async () => {
  rt.register('bad', () => () => 'a function');
  await assert.rejects(rt.call('call_host_any', ['bad']), isTide('EINVAL'));
  rt.register('bad', async () => 10n);
  await assert.rejects(rt.call('call_host_any', ['bad']), isTide('EINVAL'));
});

test('thenables count as async results', async () => {
  rt.register('thenable', () => ({ then: (res) => setTimeout(() => res('later'), 2) }));
  assert.equal(await rt.call('call_host_any', ['thenable']), 'later');
  rt.register('thenable', () => ({ then: () => { throw new Error('then threw'); } }));
  await assert.rejects(rt.call('call_host_any', ['thenable']), isTide('EHOST', 'then threw'));
});

test('a host function may call back into C while it runs', async () => {
  rt.register('nested', async (x) => (await rt.call('add', [x, 1])) * 10);
  assert.equal(await rt.call('call_host_any', ['nested', 4]), 50);
  /* Synchronously, too: the host never calls a function from inside an import. */
  let inner;
  rt.register('nested_sync', (x) => {
    inner = rt.call('add', [x, x]);
    return 'started';
  });
  assert.equal(await rt.call('call_host_any', ['nested_sync', 3]), 'started');
  assert.equal(await inner, 6);
});

test('each operation completes once, and nothing is left pending', async () => {
  rt.register('double', (x) => x * 2);
  const before = rt.stats.completions;
  await Promise.all(Array.from({ length: 50 }, (_, i) => rt.call('call_host', [i])));
  assert.equal(rt.stats.completions - before, 50);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
});

test('registering again or unregistering takes effect from the next call C makes', async () => {
  rt.register('double', (x) => x * 2);
  assert.equal(await rt.call('call_host', [5]), 10);
  rt.register('double', (x) => x * 3);
  assert.equal(await rt.call('call_host', [5]), 15, 'the function registered last answers');
  assert.equal(rt.unregister('double'), true);
  await assert.rejects(rt.call('call_host', [5]), isTide('ENOENT'));
  rt.register('double', (x) => x * 4);
  assert.equal(await rt.call('call_host', [5]), 20);
});

test('the options a function keeps stay its own operation\'s after the operation ended', async () => {
  const kept = [];
  rt.register('double', (x, options) => {
    kept.push(options);
    return x * 2;
  });
  /* One after the other: the second operation reuses the first one's record. */
  assert.equal(await rt.call('call_host', [1]), 2);
  assert.equal(await rt.call('call_host', [2]), 4);
  const [a, b] = kept;
  assert.notEqual(a, b, 'one options object per call');
  assert.deepEqual(Object.keys(a), [], 'nothing but the signal accessor shows');
  assert.ok('signal' in a);
  /* Read only now, after both ended: a signal of its own, never aborted. */
  assert.equal(a.signal.aborted, false);
  assert.equal(a.signal, a.signal, 'the same signal at every read');
  assert.notEqual(a.signal, b.signal);
});
