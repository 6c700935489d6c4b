// ws.test.mjs: WebSocket messages on the JS host under Node.
// - Node 20 has no global WebSocket (unless run with --experimental-websocket):
//   then neither entry registers the ws host functions, and C's tide_ws_connect
//   completes with ENOSYS.
// - js/src/ws.mjs on its own, against a fake WebSocket class: queueing, kinds,
//   EMSGSIZE, the close codes, cancellation (nothing lost), the send bound,
//   connect failures and aborts, closing everything with the runtime.
// - Where `node --experimental-websocket` works, the scenarios of
//   tests/shared/ws-scenarios.mjs (which tests/browser/ws.test.mjs runs in
//   Chromium) in a child process with that flag, against a real server.
// The C side is tests/modules/ws-test-module.c (<build>/tests/modules/tide-ws-test-module.wasm,
// next to the general test module, or TIDE_WS_TEST_MODULE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execFile, execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from '../../js/src/node.mjs';
import { load as loadWeb } from '../../js/src/index.mjs';
import {
  createWebSockets, SEND_BOUND, WS_CONNECT, WS_SEND, WS_RECV, WS_CLOSE,
} from '../../js/src/ws.mjs';
import { errors } from '../../js/src/errors.mjs';
import { MODULE, sleep } from './helpers.mjs';
import { scenarios } from '../shared/ws-scenarios.mjs';

const WS_MODULE = process.env.TIDE_WS_TEST_MODULE ??
  join(dirname(MODULE), 'tide-ws-test-module.wasm');
const CHILD = fileURLToPath(new URL('./fixtures/ws-node-child.mjs', import.meta.url));

function requireWsModule() {
  if (!existsSync(WS_MODULE)) {
    throw new Error(`the C ws test module is missing: ${WS_MODULE} (build the js config, ` +
      'or set TIDE_WS_TEST_MODULE)');
  }
  return WS_MODULE;
}

const rejectsWith = (p, name) => assert.rejects(p, (e) => {
  assert.equal(e.code, name, `${e.name} ${e.code}: ${e.message}`);
  assert.equal(e.name, 'TideError');
  return true;
});

/* --- Without a WebSocket ------------------------------------------------------ */

/* Load with no global WebSocket, whatever this Node has (the adapters look
 * the class up when a runtime is made). */
async function loadWithout(loadFn) {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
  /* Bytes: the default entry (index.mjs) has no file paths under Node. */
  const bytes = await readFile(requireWsModule());
  delete globalThis.WebSocket;
  try {
    return await loadFn(bytes, { stdout: () => {}, stderr: () => {} });
  } finally {
    if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
  }
}

for (const [entry, loadFn] of [['node.mjs', load], ['index.mjs', loadWeb]]) {
  test(`${entry} without a global WebSocket: tide_ws_connect gives ENOSYS`, async (t) => {
    const rt = await loadWithout(loadFn);
    t.after(() => rt.close());
    assert.equal(await rt.main(['ws']), 0);
    await assert.rejects(rt.call('ws_connect', ['ws://127.0.0.1:9/']), (e) => {
      assert.equal(e.code, 'ENOSYS', `${e.name} ${e.code}: ${e.message}`);
      assert.match(e.message, /WebSocket is not available/);
      return true;
    });
    /* C refuses what it can without asking. */
    await rejectsWith(rt.call('ws_connect', ['']), 'EINVAL');
    assert.equal((await rt.call('ws_stats')).open, 0);
    assert.equal(rt.close(), 0);
  });
}

test('plain Node 20 has no global WebSocket (the case above is the real one here)', {
  skip: typeof globalThis.WebSocket === 'function' ? 'this Node has a WebSocket' : false,
}, () => {
  assert.equal(typeof globalThis.WebSocket, 'undefined');
});

/* --- ws.mjs against a fake WebSocket ------------------------------------------- */

/* Just enough of the WebSocket interface, driven by the test: open(),
 * message(data), finish(code), fail(). */
class FakeWebSocket extends EventTarget {
  static made = [];
  readyState = 0;
  bufferedAmount = 0;
  binaryType = 'blob';
  sent = [];
  closedWith = null;

  constructor(url) {
    super();
    if (/\s/.test(url)) throw new SyntaxError(`bad URL ${url}`);
    this.url = url;
    FakeWebSocket.made.push(this);
  }

  send(data) {
    this.sent.push(data);
  }

  close(code) {
    this.closedWith = code ?? 1005;
    if (this.readyState < 2) this.readyState = 2;
  }

  open() {
    this.readyState = 1;
    this.dispatchEvent(new Event('open'));
  }

  message(data) {
    this.dispatchEvent(Object.assign(new Event('message'), { data }));
  }

  finish(code, wasClean = code === 1000) {
    this.readyState = 3;
    this.dispatchEvent(Object.assign(new Event('close'), { code, wasClean, reason: '' }));
  }

  fail() {
    this.dispatchEvent(new Event('error'));
    this.finish(1006, false);
  }
}

/* A table on the fake, and one open socket: {fns, ws, id, sockets}. */
async function openFake() {
  FakeWebSocket.made = [];
  const sockets = createWebSockets({ WebSocket: FakeWebSocket });
  const fns = sockets.functions;
  const p = fns.get(WS_CONNECT)('ws://peer/', {});
  const ws = FakeWebSocket.made[0];
  assert.equal(ws.binaryType, 'arraybuffer');
  ws.open();
  const id = await p;
  return { fns, ws, id, sockets };
}

const text = (s) => new TextEncoder().encode(s);
/* A received message as [kind, bytes]. */
const msg = (u8) => [u8[0], u8.subarray(1)];

test('ws.mjs: messages wait in order with their kind; text is its UTF-8', async () => {
  const { fns, ws, id } = await openFake();
  ws.message('héllo');
  ws.message(new Uint8Array([1, 2, 3]).buffer);
  ws.message('');
  const recv = fns.get(WS_RECV);
  assert.deepEqual(msg(await recv(id, 100, {})), [0, text('héllo')]);
  assert.deepEqual(msg(await recv(id, 100, {})), [1, new Uint8Array([1, 2, 3])]);
  assert.deepEqual(msg(await recv(id, 100, {})), [0, new Uint8Array(0)]);
  /* A receive that waits gets the next message. */
  const p = recv(id, 100, {});
  ws.message('later');
  assert.deepEqual(msg(await p), [0, text('later')]);
  /* One receive at a time. */
  const q = recv(id, 100, {});
  assert.throws(() => recv(id, 100, {}), { name: 'TideError', code: 'EBUSY' });
  ws.message('x');
  await q;
});

test('ws.mjs: a message longer than max is EMSGSIZE and dropped, alone', async () => {
  const { fns, ws, id } = await openFake();
  ws.message('toolong');
  ws.message('ok');
  const recv = fns.get(WS_RECV);
  assert.throws(() => recv(id, 6, {}), { name: 'TideError', code: 'EMSGSIZE' });
  assert.deepEqual(msg(await recv(id, 6, {})), [0, text('ok')]);
  /* Also for a receive that was waiting. */
  const p = recv(id, 2, {});
  ws.message(new Uint8Array(3).buffer);
  await rejectsWith(p, 'EMSGSIZE');
});

test('ws.mjs: close code 1000 is EOF, anything else ECONNRESET, for every receive', async () => {
  const a = await openFake();
  a.ws.message('last');
  a.ws.finish(1000);
  const recvA = a.fns.get(WS_RECV);
  assert.deepEqual(msg(await recvA(a.id, 9, {})), [0, text('last')]);
  assert.throws(() => recvA(a.id, 9, {}), { name: 'TideError', code: 'EOF' });
  assert.throws(() => recvA(a.id, 9, {}), { name: 'TideError', code: 'EOF' });

  const b = await openFake();
  const pending = b.fns.get(WS_RECV)(b.id, 9, {});
  b.ws.finish(4001, false);
  await rejectsWith(pending, 'ECONNRESET');
  assert.throws(() => b.fns.get(WS_RECV)(b.id, 9, {}), /code 4001/);

  const c = await openFake();
  c.ws.fail();
  assert.throws(() => c.fns.get(WS_RECV)(c.id, 9, {}), { name: 'TideError', code: 'ECONNRESET' });
});

test('ws.mjs: a cancelled receive loses nothing', async () => {
  const { fns, ws, id } = await openFake();
  const recv = fns.get(WS_RECV);
  /* Aborted while waiting: takes nothing. */
  const ac = new AbortController();
  const p = recv(id, 9, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p);
  ws.message('one');
  ws.message('two');
  /* Answered, then aborted (C dropped the answer): back in front. */
  const ac2 = new AbortController();
  assert.deepEqual(msg(recv(id, 9, { signal: ac2.signal })), [0, text('one')]);
  ac2.abort();
  assert.deepEqual(msg(await recv(id, 9, {})), [0, text('one')]);
  assert.deepEqual(msg(await recv(id, 9, {})), [0, text('two')]);
  /* A waiting receive answered by a message, then aborted: the message goes
   * back, and a receive waiting by then gets it. */
  const ac3 = new AbortController();
  const r3 = recv(id, 9, { signal: ac3.signal });
  ws.message('three');
  assert.deepEqual(msg(await r3), [0, text('three')]);
  const r4 = recv(id, 9, {});
  ac3.abort();
  assert.deepEqual(msg(await r4), [0, text('three')]);
});

test('ws.mjs: a send resolves at once below the bound, else once the buffer drained', async () => {
  const { fns, ws, id } = await openFake();
  const send = fns.get(WS_SEND);
  assert.equal(send(id, text('hi'), 0, {}), 2);
  assert.equal(ws.sent[0], 'hi');
  const bin = new Uint8Array([9, 8]);
  assert.equal(send(id, bin, 1, {}), 2);
  assert.equal(ws.sent[1], bin);
  /* The text goes out as the exact string: a leading BOM is kept. */
  send(id, new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), 0, {});
  assert.equal(ws.sent[2], '\uFEFFA');
  assert.throws(() => send(id, new Uint8Array([0xc3, 0x28]), 0, {}), { name: 'TideError', code: 'EINVAL' });
  assert.throws(() => send(id, bin, 2, {}), { name: 'TideError', code: 'EINVAL' });

  ws.bufferedAmount = SEND_BOUND;
  let done = false;
  const p = send(id, new Uint8Array(10), 1, {}).then((n) => {
    done = true;
    return n;
  });
  await sleep(30);
  assert.equal(done, false, 'waits while the buffer is at the bound');
  ws.bufferedAmount = SEND_BOUND - 1;
  assert.equal(await p, 10);
  /* An aborted wait rejects; the message was sent all the same. */
  ws.bufferedAmount = SEND_BOUND * 2;
  const ac = new AbortController();
  const q = send(id, new Uint8Array(1), 1, { signal: ac.signal });
  ac.abort();
  await assert.rejects(q);
  /* A wait ends with the close: clean resolves, unclean is ECONNRESET. */
  const r = send(id, new Uint8Array(3), 1, {});
  ws.finish(1006, false);
  await rejectsWith(r, 'ECONNRESET');
  assert.throws(() => send(id, bin, 1, {}), { name: 'TideError', code: 'ECLOSED' });
});

test('ws.mjs: connect failures, aborts, dropped answers, close, closeAll', async () => {
  FakeWebSocket.made = [];
  const sockets = createWebSockets({ WebSocket: FakeWebSocket });
  const fns = sockets.functions;
  const connect = fns.get(WS_CONNECT);
  assert.throws(() => connect('ws://bad url/', {}), { name: 'TideError', code: 'EINVAL' });
  assert.throws(() => connect('', {}), { name: 'TideError', code: 'EINVAL' });
  /* The connection fails before it opened: ECONNREFUSED. */
  const p1 = connect('ws://a/', {});
  FakeWebSocket.made.at(-1).fail();
  await rejectsWith(p1, 'ECONNREFUSED');
  /* Node 20's WebSocket says only 'error' (no 'close') when it cannot connect. */
  const p1b = connect('ws://a/', {});
  FakeWebSocket.made.at(-1).dispatchEvent(new Event('error'));
  await rejectsWith(p1b, 'ECONNREFUSED');
  /* Aborted while connecting: the socket is closed. */
  const ac = new AbortController();
  const p2 = connect('ws://b/', { signal: ac.signal });
  ac.abort();
  await assert.rejects(p2);
  assert.equal(FakeWebSocket.made.at(-1).closedWith, 1000);
  /* Answered, then the answer dropped: closed, and its id gone. */
  const ac3 = new AbortController();
  const p3 = connect('ws://c/', { signal: ac3.signal });
  const w3 = FakeWebSocket.made.at(-1);
  w3.open();
  const id3 = await p3;
  assert.deepEqual(sockets.counts(), { sockets: 1, connecting: 0 });
  ac3.abort();
  assert.equal(w3.closedWith, 1000);
  assert.deepEqual(sockets.counts(), { sockets: 0, connecting: 0 });
  assert.throws(() => fns.get(WS_RECV)(id3, 1, {}), { name: 'TideError', code: 'EBADF' });
  /* ws_close closes with 1000 and resolves after the close event. */
  const p4 = connect('ws://d/', {});
  const w4 = FakeWebSocket.made.at(-1);
  w4.open();
  const id4 = await p4;
  let closed = false;
  const c = Promise.resolve(fns.get(WS_CLOSE)(id4)).then(() => {
    closed = true;
  });
  assert.equal(w4.closedWith, 1000);
  await sleep(5);
  assert.equal(closed, false, 'waits for the close event');
  w4.finish(1000);
  await c;
  /* closeAll: open sockets and connects in flight. */
  const p5 = connect('ws://e/', {});
  const w5 = FakeWebSocket.made.at(-1);
  w5.open();
  const id5 = await p5;
  const pending = fns.get(WS_RECV)(id5, 9, {});
  connect('ws://f/', {}).catch(() => {});
  const w6 = FakeWebSocket.made.at(-1);
  sockets.close();
  await rejectsWith(pending, 'ECANCELED');
  assert.equal(w5.closedWith, 1000);
  assert.equal(w6.closedWith, 1000);
  assert.deepEqual(sockets.counts(), { sockets: 0, connecting: 0 });
  assert.throws(() => connect('ws://g/', {}), { name: 'TideError', code: 'ECANCELED' });
});

/* --- The scenarios, under Node with a WebSocket ------------------------------- */

/* Whether this node runs with --experimental-websocket (Node 20; newer ones
 * have the global anyway and may warn about the flag or refuse it). */
function experimentalWebSocket() {
  try {
    const out = execFileSync(process.execPath,
      ['--experimental-websocket', '--no-warnings', '-e', 'process.stdout.write(typeof WebSocket)'],
      { encoding: 'utf8', timeout: 20_000 });
    return out === 'function';
  } catch {
    return false;
  }
}

const flagWorks = experimentalWebSocket();
let childRun = null;

/* One child runs every scenario; each test below reads its result. */
function runChild() {
  childRun ??= new Promise((resolve, reject) => {
    execFile(process.execPath,
      ['--experimental-websocket', '--no-warnings', CHILD, requireWsModule()],
      { encoding: 'utf8', timeout: 180_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout));
        } catch {
          reject(new Error(`the child failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
        }
      });
  });
  return childRun;
}

for (const name of Object.keys(scenarios)) {
  test(`under node --experimental-websocket: ${name}`, {
    skip: flagWorks ? false : 'node --experimental-websocket gives no WebSocket here',
  }, async () => {
    const results = await runChild();
    assert.ok(results[name], `no result for "${name}": ${JSON.stringify(results).slice(0, 500)}`);
    assert.ok(results[name].ok, results[name].error);
  });
}

test('the ws host functions are exported under their ABI names', () => {
  assert.deepEqual([WS_CONNECT, WS_SEND, WS_RECV, WS_CLOSE], [
    'tideloop:ws_connect', 'tideloop:ws_send', 'tideloop:ws_recv', 'tideloop:ws_close',
  ]);
  assert.equal(errors.ENOSYS, -13);
});
