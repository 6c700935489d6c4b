// scenarios.mjs: engine-neutral test bodies, run both by node --test
// (tests/js/shared-scenarios.test.mjs, with the package's node entry) and inside
// headless Chromium (tests/browser/, with the browser entry js/src/index.mjs).
// One body, two engines: no copies. Only Web-platform APIs here (no node:*).
//
// Every scenario is `async (env) => void` and throws on failure. env:
//   load(source, options)  the package's load() for this engine
//   module                 what load() takes for the C test module
//                          (tests/modules/test-module.c): a path in Node, a URL in a page
//   TideError, errors      the package's exports of those names

/** A small assert that works in any engine (node:assert is Node's only). */
export const assert = {
  ok(v, msg = 'expected a truthy value') {
    if (!v) throw new Error(`assert.ok: ${msg}`);
  },
  equal(a, b, msg = '') {
    if (!Object.is(a, b)) throw new Error(`assert.equal: ${fmt(a)} !== ${fmt(b)} ${msg}`);
  },
  deepEqual(a, b, msg = '') {
    if (fmt(a) !== fmt(b)) throw new Error(`assert.deepEqual: ${fmt(a)} != ${fmt(b)} ${msg}`);
  },
  async rejects(promise, check, msg = '') {
    let err;
    try {
      await promise;
    } catch (e) {
      err = e;
    }
    if (err === undefined) throw new Error(`assert.rejects: it resolved ${msg}`);
    check(err);
  },
};

function fmt(v) {
  if (v instanceof Uint8Array) return `Uint8Array[${[...v]}]`;
  if (typeof v === 'number' && Object.is(v, -0)) return '-0';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? v.slice(0, 80) + '...' : v);
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

async function until(pred, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(1);
  }
}

/** Load the test module, run its setup, give fn the runtime, close it cleanly. */
async function withRuntime(env, fn) {
  const out = [];
  const err = [];
  const rt = await env.load(env.module, {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
  });
  try {
    const code = await rt.main(['tide-test-module']);
    assert.equal(code, 0, 'test module setup');
    await fn(rt, { out, err });
  } finally {
    const rc = rt.close();
    assert.equal(rc, 0, 'the loop frees cleanly');
  }
}

const isTide = (env, name, message) => (e) => {
  assert.ok(e instanceof env.TideError, `expected a TideError, got ${e}`);
  assert.equal(e.name, 'TideError');
  assert.equal(e.code, name);
  assert.equal(e.errno, env.errors[name]);
  if (message !== undefined) assert.equal(e.message, message);
};

export const scenarios = {
  /* JS calls C: every value type in and out. */
  async 'calls and values both ways'(env) {
    await withRuntime(env, async (rt) => {
      assert.equal(await rt.call('add', [2, 3]), 5);
      assert.equal(await rt.call('add', [0.5, -0.25]), 0.25);
      assert.ok(Number.isNaN(await rt.call('add', [NaN, 1])));
      assert.equal(await rt.call('echo', [-0]), -0);
      assert.equal(await rt.call('echo', ['ünïcødé ✓ 🌊']), 'ünïcødé ✓ 🌊');
      assert.equal(await rt.call('echo', ['']), '');
      const big = 'x'.repeat(100_000) + 'é';
      assert.equal(await rt.call('echo', [big]), big);
      const bytes = await rt.call('echo', [new Uint8Array([0, 1, 254, 255])]);
      assert.ok(bytes instanceof Uint8Array, 'bytes come back as a Uint8Array');
      assert.deepEqual(bytes, new Uint8Array([0, 1, 254, 255]));
      const v = { a: [1, 'two', null, { deep: true }], s: 'é' };
      assert.deepEqual(await rt.call('echo', [v]), v);
      assert.equal(await rt.call('echo', []), undefined);
      /* C calls JS: a host function's value comes back through C. */
      rt.register('double', (x) => x * 2);
      assert.equal(await rt.call('call_host', [21]), 42);
      rt.register('greet', async (who) => `hello ${who}`);
      assert.equal(await rt.call('call_host_any', ['greet', 'page']), 'hello page');
      rt.register('blob', () => new Uint8Array([9, 8, 7]));
      assert.deepEqual(await rt.call('call_host_any', ['blob']), new Uint8Array([9, 8, 7]));
      rt.register('obj', () => ({ k: [1, 2] }));
      assert.deepEqual(await rt.call('call_host_any', ['obj']), { k: [1, 2] });
    });
  },

  /* Errors: C -> JS as TideError, JS -> C as the C future's error. */
  async 'errors both ways'(env) {
    await withRuntime(env, async (rt) => {
      await assert.rejects(rt.call('fail'), isTide(env, 'EIO', 'failed on purpose'));
      await assert.rejects(rt.call('fail', [env.errors.ETIMEDOUT, 'too slow']),
        isTide(env, 'ETIMEDOUT', 'too slow'));
      await assert.rejects(rt.call('no_such_export'), isTide(env, 'ENOENT'));
      await assert.rejects(rt.call('add', ['x']), isTide(env, 'EINVAL'));
      /* A JS throw becomes the C future's error; call_host_any passes it on. */
      rt.register('boom', () => {
        throw Object.assign(new Error('deadline passed'), { code: 'ETIMEDOUT' });
      });
      await assert.rejects(rt.call('call_host_any', ['boom']),
        isTide(env, 'ETIMEDOUT', 'deadline passed'));
      rt.register('reject', async () => {
        throw new Error('plain failure');
      });
      await assert.rejects(rt.call('call_host_any', ['reject']),
        isTide(env, 'EHOST', 'plain failure'));
      await assert.rejects(rt.call('call_host_any', ['unregistered']), isTide(env, 'ENOENT'));
    });
  },

  /* Cancellation JS -> C (AbortSignal of rt.call) and C -> JS (host signal). */
  async 'cancellation both ways with an AbortSignal'(env) {
    await withRuntime(env, async (rt) => {
      const ac = new AbortController();
      const p = rt.call('spin_cancel', [], { signal: ac.signal });
      await sleep(5);
      ac.abort();
      /* Rejected with the signal's reason, as fetch() is. */
      await assert.rejects(p, (e) => e === ac.signal.reason && e.name === 'AbortError');
      /* The task may catch it and settle with its own value. */
      const ac2 = new AbortController();
      const p2 = rt.call('spin_uncancel', [], { signal: ac2.signal });
      await sleep(5);
      ac2.abort();
      assert.equal(await p2, 'cleaned up');
      /* Already aborted: rejected at once. */
      await assert.rejects(rt.call('spin_cancel', [], { signal: AbortSignal.abort() }),
        (e) => e.name === 'AbortError');
      /* C gives up on a host call after 20 ms: the JS function's signal aborts. */
      let seen = null;
      rt.register('hang', (_x, { signal }) => new Promise((_res, rej) => {
        signal.addEventListener('abort', () => {
          seen = signal.reason;
          rej(signal.reason);
        });
      }));
      await assert.rejects(rt.call('call_host_timeout', [20, 'hang', 1]),
        isTide(env, 'ETIMEDOUT', 'the host call timed out'));
      assert.ok(seen !== null, 'the host function saw its signal abort');
      assert.equal(seen.name, 'AbortError');
    });
  },

  /* Timers keep the native order: call_soon first, then (deadline, start order). */
  async 'timer order'(env) {
    await withRuntime(env, async (rt) => {
      assert.equal(await rt.call('timer_order'), 'sSabcdz');
      const many = await Promise.all(Array.from({ length: 20 }, () => rt.call('timer_order')));
      assert.deepEqual(many, Array(20).fill('sSabcdz'));
      const t0 = performance.now();
      assert.equal(await rt.call('sleep_then', [30, 'done']), 'done');
      assert.ok(performance.now() - t0 >= 25, 'a 30 ms C sleep lasts about 30 ms');
      assert.equal(await rt.call('async_wake'), 'woken');
    });
  },

  /* N host completions resolved in one turn cost one tick; N sync host
   * functions started by one tick complete in one more. */
  async 'batching'(env) {
    await withRuntime(env, async (rt) => {
      const N = 100;
      const pending = [];
      rt.register('gate', (i) => {
        const d = deferred();
        pending.push(() => d.resolve(i * 3));
        return d.promise;
      });
      const calls = Array.from({ length: N }, (_, i) => rt.call('call_host_any', ['gate', i]));
      await until(() => pending.length === N, 'all host functions to start');
      await sleep(10); /* the loop settles: nothing is ready now */
      const ticks = rt.stats.ticks;
      for (const release of pending) release();
      const results = await Promise.all(calls);
      assert.deepEqual(results, Array.from({ length: N }, (_, i) => i * 3));
      assert.equal(rt.stats.ticks - ticks, 1, 'one tick for N completions');
      rt.register('double', (x) => x * 2);
      await sleep(10);
      const ticks2 = rt.stats.ticks;
      const rs = await Promise.all(Array.from({ length: N }, (_, i) => rt.call('call_host', [i])));
      assert.deepEqual(rs, Array.from({ length: N }, (_, i) => i * 2));
      assert.equal(rt.stats.ticks - ticks2, 2, 'two ticks for N sync host calls');
    });
  },

  /* A burst of C callbacks runs as many short ticks (counted, not timed). */
  async 'burst of callbacks'(env) {
    await withRuntime(env, async (rt) => {
      const ticks = rt.stats.ticks;
      assert.equal(await rt.call('burst', [100_000, 1000]), 100_000);
      const used = rt.stats.ticks - ticks;
      assert.ok(used >= 50 && used <= 200, `about 100 iterations of 1000 callbacks: ${used} ticks`);
      const ac = new AbortController();
      const p = rt.call('burst', [1e9], { signal: ac.signal });
      await sleep(20);
      ac.abort();
      /* Rejected with the signal's reason, as fetch() is. */
      await assert.rejects(p, (e) => e === ac.signal.reason && e.name === 'AbortError');
    });
  },
};
