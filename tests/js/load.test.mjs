// load.test.mjs: load() from every kind of source, the WASI subset (output
// sinks with line buffering, unsupported imports reported), exit() and traps,
// and modules the host must refuse. Hand-made stub modules (wasm-builder.mjs)
// cover what the C test module cannot do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as node from '../../js/src/node.mjs';
import * as web from '../../js/src/index.mjs';
import { TideError, TideExit } from '../../js/src/node.mjs';
import { requireModule, loadTest, NODE_ENTRY, WEB_ENTRY } from './helpers.mjs';
import { stubTideModule, buildModule, op, I32, I64 } from './wasm-builder.mjs';

const quiet = { stdout: () => {}, stderr: () => {} };

async function smoke(rt) {
  assert.equal(await rt.main(['t']), 0);
  assert.equal(await rt.call('add', [1, 2]), 3);
  assert.equal(rt.close(), 0);
}

test('load takes a path, a file URL, bytes, an ArrayBuffer, a Module, a Response, a promise', async () => {
  const path = requireModule();
  const bytes = await readFile(path);
  const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  await smoke(await node.load(path, quiet));
  await smoke(await node.load(pathToFileURL(path), quiet));
  await smoke(await node.load(pathToFileURL(path).href, quiet));
  await smoke(await node.load(bytes, quiet));
  await smoke(await node.load(ab, quiet));
  await smoke(await node.load(await WebAssembly.compile(bytes), quiet));
  await smoke(await node.load(new Response(bytes, { headers: { 'content-type': 'application/wasm' } }), quiet));
  await smoke(await node.load(new Response(bytes), quiet));
  await smoke(await node.load(readFile(path), quiet));
  /* The default entry takes everything but file paths. */
  await smoke(await web.load(bytes, quiet));
  await assert.rejects(web.load(path, quiet), TypeError);
  await assert.rejects(node.load(42, quiet), TypeError);
  await assert.rejects(node.load(new Response('nope', { status: 404 }), quiet), /HTTP 404/);
});

test('options are validated', async () => {
  const bytes = await readFile(requireModule());
  await assert.rejects(node.load(bytes, { stdout: 'x' }), TypeError);
  await assert.rejects(node.load(bytes, { args: 'x' }), TypeError);
  await assert.rejects(node.load(bytes, { args: [1] }), TypeError);
  await assert.rejects(node.load(bytes, { env: 5 }), TypeError);
});

test('C stdout goes to the sink line by line; main resolves with the exit code', async () => {
  const out = [];
  const rt = await node.load(requireModule(), { stdout: (l) => out.push(l), stderr: () => {} });
  /* The test module's main task prints argv[1..] after 1 ms and exits argv[1]. */
  const code = await rt.main(['prog', '3', 'héllo wörld', '']);
  assert.equal(code, 3);
  assert.deepEqual(out, ['3', 'héllo wörld', '']);
  assert.equal(rt.close(), 0);
});

test('the WASI subset: args, env, clocks, random, fdstat, fd_write, exit', async () => {
  const { wasiImports, LineBuffer } = await import('../../js/src/wasi.mjs');
  const memory = new WebAssembly.Memory({ initial: 3 });
  const lines = [];
  let exited;
  const w = wasiImports({
    memory: () => memory,
    stdout: new LineBuffer((l) => lines.push(l)),
    stderr: new LineBuffer(() => {}),
    args: ['prog', 'a b'],
    env: ['HOME=/h'],
    onExit: (c) => {
      exited = c;
    },
  });
  const mem = () => new DataView(memory.buffer);
  const text = (p) => {
    const u = new Uint8Array(memory.buffer);
    let e = p;
    while (u[e]) e++;
    return new TextDecoder().decode(u.subarray(p, e));
  };
  assert.equal(w.args_sizes_get(100, 104), 0);
  assert.equal(mem().getUint32(100, true), 2);
  assert.equal(mem().getUint32(104, true), 9);
  assert.equal(w.args_get(200, 300), 0);
  assert.equal(text(mem().getUint32(200, true)), 'prog');
  assert.equal(text(mem().getUint32(204, true)), 'a b');
  assert.equal(w.environ_sizes_get(100, 104), 0);
  assert.equal(mem().getUint32(100, true), 1);
  assert.equal(w.environ_get(200, 300), 0);
  assert.equal(text(mem().getUint32(200, true)), 'HOME=/h');
  assert.equal(w.args_get(memory.buffer.byteLength - 4, 300), 21, 'EFAULT');
  assert.equal(w.clock_time_get(1, 0n, 400), 0);
  const a = mem().getBigUint64(400, true);
  assert.equal(w.clock_time_get(1, 0n, 400), 0);
  assert.ok(mem().getBigUint64(400, true) >= a, 'monotonic');
  assert.equal(w.clock_time_get(0, 0n, 400), 0);
  const wall = Number(mem().getBigUint64(400, true) / 1_000_000n);
  assert.ok(Math.abs(wall - Date.now()) < 5000, 'realtime is wall-clock time');
  assert.equal(w.clock_time_get(99, 0n, 400), 28, 'unknown clock: EINVAL');
  assert.equal(w.clock_res_get(1, 400), 0);
  assert.ok(mem().getBigUint64(400, true) > 0n);
  new Uint8Array(memory.buffer, 1000, 100000).fill(0);
  assert.equal(w.random_get(1000, 100000), 0, 'more than one getRandomValues call');
  const r = new Uint8Array(memory.buffer, 1000, 100000);
  assert.ok(r.subarray(70000).some((b) => b !== 0), 'the second chunk is filled too');
  assert.equal(w.random_get(memory.buffer.byteLength - 2, 10), 21, 'EFAULT past the end');
  assert.equal(w.fd_fdstat_get(1, 600), 0);
  assert.equal(mem().getUint8(600), 2, 'stdout is a character device (libc line-buffers it)');
  assert.equal(w.fd_fdstat_get(5, 600), 8, 'EBADF');
  assert.equal(w.fd_prestat_get(3, 600), 8, "no preopens: EBADF ends libc's scan");
  assert.equal(w.fd_close(1), 0);
  assert.equal(w.fd_seek(1, 0n, 0, 600), 70, 'ESPIPE');
  /* fd_write: two iovecs, a line split across writes and a multi-byte char split. */
  const u = new Uint8Array(memory.buffer);
  const msg = new TextEncoder().encode('ab\ncé\nd');
  u.set(msg.subarray(0, 5), 700); /* "ab\nc" + the first byte of é */
  u.set(msg.subarray(5), 800);
  mem().setUint32(900, 700, true);
  mem().setUint32(904, 5, true);
  mem().setUint32(908, 800, true);
  mem().setUint32(912, msg.length - 5, true);
  assert.equal(w.fd_write(1, 900, 2, 920), 0);
  assert.equal(mem().getUint32(920, true), msg.length);
  assert.deepEqual(lines, ['ab', 'cé']);
  assert.equal(w.fd_write(7, 900, 2, 920), 8, 'EBADF');
  assert.equal(w.fd_write(1, 0xfffffff0, 2, 920), 21, 'EFAULT');
  assert.throws(() => w.proc_exit(4), (e) => e instanceof TideExit && e.code === 4);
  assert.equal(exited, 4);
});

test('unsupported WASI imports get ENOSYS stubs and are reported at load', async () => {
  const W = 'wasi_snapshot_preview1';
  const err = [];
  const rt = await node.load(stubTideModule({
    imports: [
      { module: W, name: 'path_open', params: [I32], results: [I32] },
      { module: W, name: 'fd_read', params: [I32, I32, I32, I32], results: [I32] },
      { module: W, name: 'fd_write', params: [I32, I32, I32, I32], results: [I32] },
    ],
  }), { stdout: () => {}, stderr: (l) => err.push(l) });
  assert.deepEqual(rt.unsupportedImports, ['path_open', 'fd_read']);
  assert.equal(err.length, 1);
  assert.match(err[0], /path_open, fd_read/);
  assert.match(err[0], /ENOSYS/);
  rt.close();
});

test('imports from other modules, and missing exports, fail the load naming them', async () => {
  await assert.rejects(
    node.load(stubTideModule({ imports: [{ module: 'env', name: 'mystery', params: [], results: [] }] }), quiet),
    /env\.mystery/,
  );
  await assert.rejects(
    node.load(stubTideModule({ imports: [{ module: 'tideloop', name: 'future_thing', params: [], results: [] }] }), quiet),
    /tideloop\.future_thing/,
  );
  await assert.rejects(node.load(stubTideModule({ omit: ['tide_js_tick', 'tide_js_call'] }), quiet),
    /tide_js_tick, tide_js_call/);
  await assert.rejects(node.load(stubTideModule({ omit: ['_initialize'] }), quiet), /_initialize/);
  /* emcc's growth notification is accepted and ignored. */
  const rt = await node.load(stubTideModule({
    imports: [{ module: 'env', name: 'emscripten_notify_memory_growth', params: [I32], results: [] }],
  }), quiet);
  rt.close();
  /* A loop that cannot be made. */
  await assert.rejects(node.load(stubTideModule({ overrides: { tide_js_loop_new: op.i32(0) } }), quiet),
    (e) => e instanceof TideError && e.code === 'ENOMEM');
});

test('exit() in C: main resolves with the status, the runtime is finished', async () => {
  const W = 'wasi_snapshot_preview1';
  const bytes = stubTideModule({
    imports: [{ module: W, name: 'proc_exit', params: [I32], results: [] }],
    /* tide_js_main calls proc_exit(3): function index 0 is the import. */
    overrides: { tide_js_main: [...op.i32(3), ...op.call(0), ...op.i32(0)] },
  });
  const rt = await node.load(bytes, quiet);
  assert.equal(await rt.main(), 3);
  assert.equal(rt.exitCode, 3);
  await assert.rejects(rt.call('anything'), (e) => e instanceof TideExit && e.code === 3);
  assert.equal(rt.close(), 0);
});

test('a trap finishes the runtime: pending and later work rejects with it', async () => {
  const err = [];
  const bytes = stubTideModule({ overrides: { tide_js_main: op.unreachable } });
  const rt = await node.load(bytes, { stdout: () => {}, stderr: (l) => err.push(l) });
  await assert.rejects(rt.main(), WebAssembly.RuntimeError);
  await assert.rejects(rt.call('x'), WebAssembly.RuntimeError);
  assert.equal(rt.close(), 0);
  /* A trap inside a tick (a macrotask) rejects what is pending, and does not
   * throw at the engine. */
  const rt2 = await node.load(stubTideModule({ overrides: { tide_js_tick: op.unreachable } }), quiet);
  await assert.rejects(rt2.main(), WebAssembly.RuntimeError);
  assert.equal(rt2.close(), 0);
});

test('a command module (with _start) is refused with advice', async () => {
  const bytes = buildModule({
    funcs: [{ name: '_start', params: [], results: [], body: [] }],
  });
  await assert.rejects(node.load(bytes, quiet), /reactor/);
});

test('close() rejects pending work with ECANCELED and aborts host functions in flight', async () => {
  const { rt } = await loadTest();
  let signal;
  rt.register('hang', (_, ctx) => {
    signal = ctx?.signal ?? _.signal;
    return new Promise(() => {});
  });
  const p = rt.call('call_host_any', ['hang', 0]);
  const q = rt.call('spin_cancel');
  for (let i = 0; i < 100 && !signal; i++) await new Promise((r) => setImmediate(r));
  assert.ok(signal, 'the host function started');
  assert.equal(rt.close(), 0, 'cancelled C tasks finish, and the loop frees');
  await assert.rejects(p, (e) => e.code === 'ECANCELED');
  await assert.rejects(q, (e) => e.code === 'ECANCELED');
  assert.equal(signal.aborted, true);
  assert.equal(rt.closed, true);
  assert.equal(rt._loop, 0);
  assert.equal(rt.close(), 0, 'idempotent');
  await assert.rejects(rt.call('add', [1, 2]), (e) => e.code === 'ECLOSED');
});

test('Symbol.dispose closes the runtime', async () => {
  const { rt } = await loadTest();
  rt[Symbol.dispose]();
  assert.equal(rt.closed, true);
});

const run = promisify(execFile);

test('in an engine without Symbol.dispose, the runtime disposes under Symbol.for(\'Symbol.dispose\')', async () => {
  /* Where Babel's transform of `using` looks when the engine has no
   * Symbol.dispose (Node 20 always has one: the fixture makes a realm without). */
  const { stdout } = await run(process.execPath, ['--experimental-vm-modules', '--no-warnings',
    fileURLToPath(new URL('./fixtures/no-symbol-dispose.mjs', import.meta.url)),
    fileURLToPath(WEB_ENTRY), requireModule()]);
  assert.deepEqual(JSON.parse(stdout), { symbolDispose: 'undefined', sum: 3, fallbackDisposes: true });
});

test('load() from a path or a file: URL never touches the global Response (under Node, it loads undici)', async () => {
  /* A child whose Response (and fetch) throw when read: the load must not
   * look at them for a file. */
  const src = `
    import { load } from ${JSON.stringify(NODE_ENTRY)};
    import { pathToFileURL } from 'node:url';
    for (const name of ['Response', 'fetch']) {
      Object.defineProperty(globalThis, name, {
        get() { throw new Error(name + ' was read'); }, configurable: true,
      });
    }
    const path = ${JSON.stringify(requireModule())};
    for (const source of [path, pathToFileURL(path), pathToFileURL(path).href]) {
      const rt = await load(source, { stdout() {}, stderr() {} });
      await rt.main(['t']);
      console.log(await rt.call('add', [1, 2]));
      rt.close();
    }
  `;
  const { stdout, stderr } = await run(process.execPath, ['--input-type=module', '-e', src]);
  assert.equal(stdout, '3\n3\n3\n', stderr);
});

test('load() with a signal: an abort rejects with its reason, at once', async () => {
  const path = requireModule();
  const bytes = await readFile(path);
  /* Already aborted: nothing is read. */
  const aborted = AbortSignal.abort();
  await assert.rejects(node.load(path, { ...quiet, signal: aborted }), (e) => e === aborted.reason);
  /* A source that never comes: the abort ends the wait. */
  const ac = new AbortController();
  const never = new Promise(() => {});
  const p = node.load(never, { ...quiet, signal: ac.signal });
  setTimeout(() => ac.abort(), 5);
  await assert.rejects(p, (e) => e === ac.signal.reason && e.name === 'AbortError');
  /* A deadline is a TimeoutError, told from a user's abort. (Node's
   * AbortSignal.timeout() timer is unref'd: a ref'd one keeps the test alive.) */
  const keepAlive = setTimeout(() => {}, 5000);
  await assert.rejects(web.load(never, { ...quiet, signal: AbortSignal.timeout(10) }),
    (e) => e.name === 'TimeoutError');
  clearTimeout(keepAlive);
  /* Aborted while the file is being read or the module made: the reason. */
  for (const source of [path, bytes]) {
    const late = new AbortController();
    const q = node.load(source, { ...quiet, signal: late.signal });
    late.abort();
    await assert.rejects(q, (e) => e === late.signal.reason);
  }
  /* A signal that is never aborted changes nothing. */
  await smoke(await node.load(path, { ...quiet, signal: new AbortController().signal }));
  await assert.rejects(node.load(bytes, { ...quiet, signal: 'soon' }), TypeError);
});

test('main() with a signal: an abort stops the program, closing the runtime, and rejects with the reason', async () => {
  const rt = await node.load(requireModule(), quiet);
  const ac = new AbortController();
  const main = rt.main(['t'], { signal: ac.signal });
  /* A long C sleep keeps the loop, and so main(), going. */
  const sleeping = rt.call('sleep_then', [60_000, 'late']);
  setTimeout(() => ac.abort(), 10);
  await assert.rejects(main, (e) => e === ac.signal.reason && e.name === 'AbortError');
  assert.equal(rt.closed, true);
  await assert.rejects(sleeping, (e) => e instanceof TideError && e.code === 'ECANCELED');
  /* Already aborted: main() does not start, and may run later. */
  const rt2 = await node.load(requireModule(), quiet);
  const timeout = AbortSignal.abort(new DOMException('late', 'TimeoutError'));
  await assert.rejects(rt2.main(['t'], { signal: timeout }), (e) => e.name === 'TimeoutError');
  assert.equal(rt2.closed, false);
  await assert.rejects(rt2.main(['t'], { signal: 'x' }), TypeError);
  assert.equal(await rt2.main(['t', '4'], { signal: new AbortController().signal }), 4);
  assert.equal(rt2.close(), 0);
});

test('a sink may call into the runtime: the call goes out once wasm returned', async () => {
  let rt;
  const results = [];
  const thrown = [];
  rt = await node.load(requireModule(), {
    stdout: (line) => {
      /* Runs inside the fd_write import, with C on the stack. */
      results.push(rt.call('echo', [`echo ${line}`]));
    },
    stderr: () => {},
  });
  const onUncaught = (e) => thrown.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    assert.equal(await rt.main(['prog', '0', 'x', 'y']), 0);
    assert.deepEqual(await Promise.all(results), ['echo 0', 'echo x', 'echo y']);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
  assert.deepEqual(thrown, []);
  assert.equal(rt.close(), 0);
});
