// udp.test.mjs: UDP on the JS host in Node: C's tide_udp_* (src/io/hostcall/host_udp.c)
// over node:dgram (js/src/udp.mjs), against each other and node:dgram peers in
// this process, with the semantics the native tests (tests/c/test-native-udp.c)
// assert. The C side is tests/modules/udp-test-module.c
// (<build>/tests/modules/tide-udp-test-module.wasm, next to the general test module, or
// TIDE_UDP_TEST_MODULE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { load, errors } from '../../js/src/node.mjs';
import { load as loadWeb } from '../../js/src/index.mjs';
import { MAX_QUEUED, MAX_QUEUED_BYTES, createUdp } from '../../js/src/udp.mjs';
import { MODULE, NODE_ENTRY, macrotask, sleep, until } from './helpers.mjs';

const UDP_MODULE = process.env.TIDE_UDP_TEST_MODULE ?? (process.env.TIDE_JS_BUILD
  ? resolve(process.env.TIDE_JS_BUILD, 'tests', 'modules', 'tide-udp-test-module.wasm')
  : join(dirname(MODULE), 'tide-udp-test-module.wasm'));
const V4 = '127.0.0.1';
const V6 = '::1';
const NOTHING = { sockets: 0, binding: 0, queued: 0 };

function requireUdpModule() {
  if (!existsSync(UDP_MODULE)) {
    throw new Error(`the C UDP test module is missing: ${UDP_MODULE} (build the js config, ` +
      'or set TIDE_JS_BUILD or TIDE_UDP_TEST_MODULE)');
  }
  return UDP_MODULE;
}

/* A runtime on the UDP module, closed when the test ends; stderr lines (where
 * the loop's error reports go) in err. */
async function loadUdp(t) {
  const err = [];
  const rt = await load(requireUdpModule(), { stdout: () => {}, stderr: (l) => err.push(l) });
  assert.equal(await rt.main(['udp']), 0);
  t.after(() => rt.close());
  return { rt, err };
}

/* Everything C and udp.mjs hold is gone (the drop count aside). */
async function assertNothingLeft(rt) {
  await until(() => rt._udp.sockets === 0 && rt._pending.ops === 0, 'sockets to close');
  assert.equal((await rt.call('udp_stats')).sockets, 0, 'C holds no socket');
  const { dropped, ...rest } = rt._udp;
  assert.equal(typeof dropped, 'number');
  assert.deepEqual(rest, NOTHING);
}

/* A node:dgram socket bound to host, collecting what it receives; closed when
 * the test ends. */
async function nodePeer(t, host = V4, options = {}) {
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ...options });
  const got = [];
  socket.on('message', (msg, rinfo) => got.push({ msg, rinfo }));
  await new Promise((res, rej) => socket.once('error', rej).bind(0, host, res));
  t.after(() => {
    try {
      socket.close();
    } catch {
      /* closed by the test */
    }
  });
  return { socket, got, port: socket.address().port };
}

function nodeSend(socket, data, port, host = V4) {
  return new Promise((res, rej) => socket.send(data, port, host, (e) => (e ? rej(e) : res())));
}

const text = (bytes) => Buffer.from(bytes).toString();

const rejectsWith = (p, name) => assert.rejects(p, (e) => {
  assert.equal(e.code, name, `${e.name} ${e.code}: ${e.message}`);
  assert.equal(e.name, 'TideError');
  return true;
});

/* The receive answer's header (host_udp.c), for the tests of udp.mjs alone. */
function decode(answer) {
  const n = answer[4];
  return {
    status: answer[0],
    family: answer[1],
    port: answer[2] | (answer[3] << 8),
    host: Buffer.from(answer.subarray(5, 5 + n)).toString(),
    data: Buffer.from(answer.subarray(5 + n)),
  };
}

for (const host of [V4, V6]) {
  test(`C to C over ${host}: datagrams both ways, with the sender's address`, async (t) => {
    const { rt, err } = await loadUdp(t);
    const a = await rt.call('udp_open', [host, 0]);
    const b = await rt.call('udp_open', [host, 0]);
    assert.ok(a.port > 0 && b.port > 0 && a.port !== b.port, 'two ephemeral ports');
    assert.deepEqual(rt._udp, { ...NOTHING, sockets: 2, dropped: 0 });
    assert.equal(await rt.call('udp_send', [a.id, 'ping', host, b.port]), 4);
    assert.equal(text(await rt.call('udp_recv', [b.id])), 'ping');
    const family = host === V6 ? 6 : 4;
    assert.deepEqual(await rt.call('udp_last_from', [b.id]), { family, host, port: a.port });
    assert.equal(await rt.call('udp_send', [b.id, 'pong!', host, a.port]), 5);
    assert.equal(text(await rt.call('udp_recv', [a.id])), 'pong!');
    assert.deepEqual(await rt.call('udp_last_from', [a.id]), { family, host, port: b.port });
    await rt.call('udp_close', [a.id]);
    await rt.call('udp_close', [b.id]);
    await assertNothingLeft(rt);
    assert.deepEqual(err, []);
  });
}

test('C and node:dgram peers exchange datagrams, IPv4 peers of an IPv6 socket mapped', async (t) => {
  const { rt } = await loadUdp(t);
  const peer = await nodePeer(t);
  const c = await rt.call('udp_open', [V4, 0]);
  await nodeSend(peer.socket, 'from node', c.port);
  assert.equal(text(await rt.call('udp_recv', [c.id])), 'from node');
  assert.deepEqual(await rt.call('udp_last_from', [c.id]), { family: 4, host: V4, port: peer.port });
  await rt.call('udp_send', [c.id, 'from C', V4, peer.port]);
  await until(() => peer.got.length === 1, 'the peer to receive');
  assert.equal(peer.got[0].msg.toString(), 'from C');
  assert.equal(peer.got[0].rinfo.port, c.port);
  assert.equal(peer.got[0].rinfo.address, V4);

  /* A socket on "::" hears IPv4 at ::ffff:a.b.c.d and answers there, as
   * natively (an IPv4 destination itself is refused: another family). */
  const any6 = await rt.call('udp_open', ['::', 0]);
  await nodeSend(peer.socket, 'mapped', any6.port);
  assert.equal(text(await rt.call('udp_recv', [any6.id])), 'mapped');
  const from = await rt.call('udp_last_from', [any6.id]);
  assert.deepEqual(from, { family: 6, host: `::ffff:${V4}`, port: peer.port });
  await rejectsWith(rt.call('udp_send', [any6.id, 'x', V4, peer.port]), 'EINVAL');
  await rt.call('udp_send', [any6.id, 'back', from.host, peer.port]);
  await until(() => peer.got.length === 2, 'the mapped reply');
  assert.equal(peer.got[1].msg.toString(), 'back');
  assert.equal(peer.got[1].rinfo.port, any6.port);
  await rt.call('udp_close', [c.id]);
  await rt.call('udp_close', [any6.id]);
  await assertNothingLeft(rt);
});

test('1000 datagrams arrive in order with a receiver keeping up', async (t) => {
  const { rt } = await loadUdp(t);
  const a = await rt.call('udp_open', [V4, 0]);
  const b = await rt.call('udp_open', [V4, 0]);
  const [received, sent] = await Promise.all([
    rt.call('udp_recv_many', [b.id, 1000]),
    rt.call('udp_send_many', [a.id, 1000, V4, b.port]),
  ]);
  assert.equal(sent, 1000);
  assert.equal(received, 1000);
  assert.equal(rt._udp.dropped, 0);
  await rt.call('udp_close', [a.id]);
  await rt.call('udp_close', [b.id]);
  await assertNothingLeft(rt);
});

test('a zero-length datagram is a datagram; the largest one arrives whole', async (t) => {
  const { rt } = await loadUdp(t);
  const a = await rt.call('udp_open', [V4, 0]);
  const b = await rt.call('udp_open', [V4, 0]);
  assert.equal(await rt.call('udp_send', [a.id, 0, V4, b.port]), 0);
  const empty = await rt.call('udp_recv', [b.id, 1]);
  assert.ok(empty instanceof Uint8Array);
  assert.equal(empty.length, 0);
  assert.deepEqual(await rt.call('udp_last_from', [b.id]), { family: 4, host: V4, port: a.port });

  const big = 65507;
  assert.equal(await rt.call('udp_send', [a.id, big, V4, b.port]), big);
  const got = await rt.call('udp_recv', [b.id, big]); /* exactly max fits */
  assert.equal(got.length, big);
  const want = Uint8Array.from({ length: big }, (_, i) => (i * 7) & 0xff);
  assert.ok(Buffer.from(got).equals(Buffer.from(want)), 'every byte');
  /* One more is refused at once, as natively. */
  await rejectsWith(rt.call('udp_send', [a.id, big + 1, V4, b.port]), 'EMSGSIZE');
  await rt.call('udp_close', [a.id]);
  await rt.call('udp_close', [b.id]);
  await assertNothingLeft(rt);
});

test('a datagram longer than max is EMSGSIZE, its sender stored; the next arrives', async (t) => {
  const { rt } = await loadUdp(t);
  const a = await rt.call('udp_open', [V4, 0]);
  const b = await rt.call('udp_open', [V4, 0]);
  await rt.call('udp_send', [a.id, '0123456789abcdef', V4, b.port]);
  await rt.call('udp_send', [a.id, 'short', V4, b.port]);
  await rejectsWith(rt.call('udp_recv', [b.id, 15]), 'EMSGSIZE');
  assert.deepEqual(await rt.call('udp_last_from', [b.id]), { family: 4, host: V4, port: a.port });
  assert.equal(text(await rt.call('udp_recv', [b.id, 5])), 'short');
  await rt.call('udp_close', [a.id]);
  await rt.call('udp_close', [b.id]);
  await assertNothingLeft(rt);
});

test('bad addresses and ports are EINVAL at once; one receive at a time', async (t) => {
  const { rt } = await loadUdp(t);
  const calls = rt.stats.hostCalls;
  for (const bad of ['localhost', '1.2.3', '127.0.0.1:80', '', '[::1]', '::g', ' 127.0.0.1']) {
    await rejectsWith(rt.call('udp_open', [bad, 0]), 'EINVAL');
  }
  await rejectsWith(rt.call('udp_open', [null, 0]), 'EINVAL');
  await rejectsWith(rt.call('udp_open', [V4, -1]), 'EINVAL');
  await rejectsWith(rt.call('udp_open', [V4, 65536]), 'EINVAL');
  assert.equal(rt.stats.hostCalls, calls, 'no open reached the host');
  const u = await rt.call('udp_open', [V4, 0]);
  const sent = rt.stats.hostCalls;
  for (const bad of ['localhost', '1.2.3', '', '::g']) {
    await rejectsWith(rt.call('udp_send', [u.id, 'x', bad, 9]), 'EINVAL');
  }
  await rejectsWith(rt.call('udp_send', [u.id, 'x', null, 9]), 'EINVAL');
  await rejectsWith(rt.call('udp_send', [u.id, 'x', V4, 0]), 'EINVAL');
  await rejectsWith(rt.call('udp_send', [u.id, 'x', V4, 65536]), 'EINVAL');
  await rejectsWith(rt.call('udp_send', [u.id, 'x', V6, 9]), 'EINVAL'); /* other family */
  assert.equal(rt.stats.hostCalls, sent, 'no send reached the host');
  assert.equal(await rt.call('udp_recv_busy', [u.id]), errors.EBUSY);
  await rt.call('udp_close', [u.id]);
  await assertNothingLeft(rt);
});

test('a port in use is EADDRINUSE; closed, it is free again', async (t) => {
  const { rt } = await loadUdp(t);
  /* Held by node:dgram without reuseAddr. */
  const holder = await nodePeer(t);
  await rejectsWith(rt.call('udp_open', [V4, holder.port]), 'EADDRINUSE');
  /* Held by C itself. */
  const mine = await rt.call('udp_open', [V6, 0]);
  await rejectsWith(rt.call('udp_open', [V6, mine.port]), 'EADDRINUSE');
  await rt.call('udp_close', [mine.id]);
  const again = await rt.call('udp_open', [V6, mine.port]);
  assert.equal(again.port, mine.port);
  await rt.call('udp_close', [again.id]);
  await assertNothingLeft(rt);
});

test('a send the kernel refuses fails alone (EACCES: broadcast); the socket goes on', async (t) => {
  const { rt } = await loadUdp(t);
  const a = await rt.call('udp_open', ['0.0.0.0', 0]);
  const b = await rt.call('udp_open', [V4, 0]);
  await rejectsWith(rt.call('udp_send', [a.id, 'x', '255.255.255.255', 9]), 'EACCES');
  await rt.call('udp_send', [a.id, 'after', V4, b.port]);
  assert.equal(text(await rt.call('udp_recv', [b.id])), 'after');
  await rt.call('udp_close', [a.id]);
  await rt.call('udp_close', [b.id]);
  await assertNothingLeft(rt);
});

test('a receive cancelled from JS loses nothing: the next receive gets the datagram', async (t) => {
  const { rt } = await loadUdp(t);
  const c = await rt.call('udp_open', [V4, 0]);
  const peer = await nodePeer(t);
  const ac = new AbortController();
  const pending = rt.call('udp_recv', [c.id], { signal: ac.signal });
  await until(() => rt._pending.ops === 1, 'the receive to wait in the host');
  ac.abort();
  await assert.rejects(pending, (e) => e === ac.signal.reason);
  await until(() => rt._pending.ops === 0, 'the host receive to end');
  /* Arriving now, it waits in JS for the next receive. */
  await nodeSend(peer.socket, 'kept', c.port);
  await until(() => rt._udp.queued === 1, 'the datagram to be queued');
  assert.equal(text(await rt.call('udp_recv', [c.id])), 'kept');

  /* Cancel after 0..N macrotasks: before the datagram arrives, while its
   * answer travels to C, after C has it but before the task sees it, after.
   * Each datagram is received exactly once: by the cancelled call (it won the
   * race) or by the next receive. */
  const outcomes = { first: 0, next: 0 };
  for (let i = 0; i < 24; i++) {
    const signal = new AbortController();
    const first = rt.call('udp_recv', [c.id], { signal: signal.signal }).then(
      (data) => ({ data }),
      (e) => ({ e }),
    );
    await nodeSend(peer.socket, `round ${i}`, c.port);
    for (let k = 0; k < i % 12; k++) await macrotask();
    if (i >= 12) await sleep(1);
    signal.abort();
    const r = await first;
    let data = r.data;
    if (data !== undefined) {
      outcomes.first++;
    } else {
      assert.equal(r.e, signal.signal.reason, 'the abort\'s reason');
      data = await rt.call('udp_recv', [c.id]);
      outcomes.next++;
    }
    assert.equal(text(data), `round ${i}`);
    assert.equal(rt._udp.queued, 0, `round ${i}: nothing left over`);
  }
  assert.equal(outcomes.first + outcomes.next, 24);
  assert.ok(outcomes.next > 0, `some datagrams went to the next receive: ${JSON.stringify(outcomes)}`);
  await rt.call('udp_close', [c.id]);
  await assertNothingLeft(rt);
});

test('a receive C cancels after its answer reached C holds the datagram for the next', async (t) => {
  const { rt } = await loadUdp(t);
  rt.register('sync', () => 0);
  const c = await rt.call('udp_open', [V4, 0]);
  const peer = await nodePeer(t);
  await nodeSend(peer.socket, 'held', c.port);
  await until(() => rt._udp.queued === 1, 'the datagram to be queued');
  assert.equal(await rt.call('recv_behind_sync', [c.id]), -1);
  assert.equal(rt._udp.queued, 0, 'C has it, not JS');
  /* The next receive takes it without asking the host. */
  const calls = rt.stats.hostCalls;
  assert.equal(text(await rt.call('udp_recv', [c.id])), 'held');
  assert.deepEqual(await rt.call('udp_last_from', [c.id]), { family: 4, host: V4, port: peer.port });
  assert.equal(rt.stats.hostCalls, calls);
  /* Held when the socket closes: freed with it. */
  await nodeSend(peer.socket, 'dropped with the socket', c.port);
  await until(() => rt._udp.queued === 1, 'the second datagram to be queued');
  assert.equal(await rt.call('recv_behind_sync', [c.id]), -1);
  await rt.call('udp_close', [c.id]);
  await assertNothingLeft(rt);
});

test('close with a receive pending and sends queued: ECANCELED exactly once each', async (t) => {
  const { rt, err } = await loadUdp(t);
  const c = await rt.call('udp_open', [V6, 0]);
  const peer = await nodePeer(t, V6);
  const r = await rt.call('udp_close_pending', [c.id, V6, peer.port]);
  assert.deepEqual(r, {
    recv: errors.ECANCELED,
    sends: [errors.ECANCELED, errors.ECANCELED, errors.ECANCELED],
    done: [1, 1, 1, 1],
  });
  await assertNothingLeft(rt);
  /* Cancelled before the host started them: none went out, and the one without
   * a future was not reported. */
  await sleep(50);
  assert.equal(peer.got.length, 0);
  assert.deepEqual(err, []);
});

test('rt.close() destroys every socket of the runtime', async (t) => {
  const { rt } = await loadUdp(t);
  const peer = await nodePeer(t);
  const a = await rt.call('udp_open', [V4, 0]);
  const b = await rt.call('udp_open', [V4, 0]);
  /* One socket with a datagram queued, one with a receive waiting. */
  await nodeSend(peer.socket, 'queued', a.port);
  await until(() => rt._udp.queued === 1, 'the queued datagram');
  const waiting = rt.call('udp_recv', [b.id]);
  await until(() => rt._pending.ops === 1, 'the receive to wait in the host');
  assert.deepEqual(rt._udp, { sockets: 2, binding: 0, queued: 1, dropped: 0 });
  rt.close();
  await rejectsWith(waiting, 'ECANCELED');
  assert.deepEqual(rt._udp, { sockets: 0, binding: 0, queued: 0, dropped: 0 });
  /* The ports are free again, for a socket without reuseAddr. */
  for (const port of [a.port, b.port]) {
    const s = dgram.createSocket('udp4');
    await new Promise((res, rej) => s.once('error', rej).bind(port, V4, res));
    s.close();
  }
});

test('an idle socket does not keep Node alive; a pending receive does', async () => {
  const run = (code) => new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 20000 },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  const prelude = `
    import { load } from ${JSON.stringify(NODE_ENTRY)};
    const rt = await load(${JSON.stringify(requireUdpModule())}, { stdout() {}, stderr() {} });
    await rt.main(['udp']);
    const u = await rt.call('udp_open', ['127.0.0.1', 0]);`;
  /* Open, and even after a send: nothing waits, the process ends by itself. */
  const idle = await run(`${prelude}
    await rt.call('udp_send', [u.id, 'x', '127.0.0.1', u.port]);
    console.log('open');`);
  assert.equal(idle.error, null, idle.stderr);
  assert.equal(idle.stdout.trim(), 'open');
  /* A receive waits: the process lives until a datagram comes (from a socket
   * of its own after 300 ms, unref'd, so only the receive keeps it alive). */
  const waiting = await run(`${prelude}
    const dgram = await import('node:dgram');
    const t0 = Date.now();
    const s = dgram.createSocket('udp4');
    s.unref();
    setTimeout(() => s.send('late', u.port, '127.0.0.1', () => s.close()), 300).unref();
    const got = await rt.call('udp_recv', [u.id]);
    await rt.call('udp_close', [u.id]);
    console.log(Buffer.from(got).toString() === 'late' && Date.now() - t0 >= 250
      ? 'received' : 'too early');`);
  assert.equal(waiting.error, null, waiting.stderr);
  assert.equal(waiting.stdout.trim(), 'received');
});

test('without node:dgram (the web entry) UDP is ENOSYS, through the future', async () => {
  const rt = await loadWeb(await readFile(requireUdpModule()), { stdout: () => {}, stderr: () => {} });
  try {
    assert.equal(await rt.main(['udp']), 0);
    assert.equal(rt._udp, null);
    await rejectsWith(rt.call('udp_open', [V4, 0]), 'ENOSYS');
    /* A bad address is still refused in C, before any host call. */
    await rejectsWith(rt.call('udp_open', ['localhost', 0]), 'EINVAL');
  } finally {
    rt.close();
  }
});

/* --- udp.mjs alone -------------------------------------------------------- */

/* The host functions of one table, and a socket opened with them. */
async function table(t, host = V4) {
  const u = createUdp({ dgram, isIP: net.isIP });
  t.after(() => u.close());
  const fn = (name) => u.functions.get(`tideloop:${name}`);
  const packed = await fn('udp_open')(host, 0, {});
  return { u, fn, id: Math.floor(packed / 65536), port: packed % 65536 };
}

test('udp.mjs: a datagram C dropped goes back to the front of the queue', async (t) => {
  const { u, fn, id, port } = await table(t);
  const peer = await nodePeer(t);
  await nodeSend(peer.socket, 'first', port);
  await nodeSend(peer.socket, 'second', port);
  await until(() => u.counts().queued === 2, 'both datagrams');
  const c1 = new AbortController();
  const answer = decode(fn('udp_recv')(id, 100, { signal: c1.signal }));
  assert.deepEqual(answer, { status: 0, family: 4, port: peer.port, host: V4, data: Buffer.from('first') });
  /* The runtime aborts the signal when C dropped the answer. */
  c1.abort();
  assert.equal(u.counts().queued, 2);
  /* Too long for max: status 1, no bytes, the sender all the same. Dropped
   * too, it comes back, for a receive with room for it. */
  const c2 = new AbortController();
  const tooLong = decode(fn('udp_recv')(id, 4, { signal: c2.signal }));
  assert.deepEqual(tooLong, { status: 1, family: 4, port: peer.port, host: V4, data: Buffer.alloc(0) });
  c2.abort();
  assert.equal(decode(fn('udp_recv')(id, 100, {})).data.toString(), 'first');
  assert.equal(decode(fn('udp_recv')(id, 100, {})).data.toString(), 'second');
  /* A waiting receive: the next datagram goes straight to it. */
  const waiting = fn('udp_recv')(id, 100, {});
  await nodeSend(peer.socket, 'third', port);
  assert.equal(decode(await waiting).data.toString(), 'third');
  assert.equal(await fn('udp_send')(id, new Uint8Array([1, 2, 3]), V4, peer.port), 3);
  await until(() => peer.got.length === 1, 'the peer to receive');
  await assert.rejects(Promise.resolve().then(() => fn('udp_recv')(99, 1, {})), { code: 'EBADF', errno: errors.EBADF });
  fn('udp_close')(id);
  assert.deepEqual(u.counts(), { ...NOTHING, dropped: 0 });
});

test(`udp.mjs: past ${MAX_QUEUED} datagrams or ${MAX_QUEUED_BYTES} bytes queued, new ones are dropped and counted`, async (t) => {
  const { u, fn, id, port } = await table(t);
  const peer = await nodePeer(t);
  /* Sent in batches of at most ~100 KB, each waited for, so that the kernel's
   * own buffer (about 200 KB) never overflows: every drop is the queue's. */
  const send = async (total, size) => {
    const most = Math.max(1, Math.floor(100000 / (size + 1000)));
    const seen = () => u.counts().queued + u.counts().dropped;
    const base = seen();
    for (let sent = 0; sent < total;) {
      const batch = Math.min(most, total - sent);
      for (let k = 0; k < batch; k++) {
        await nodeSend(peer.socket, Buffer.alloc(size, (sent + k) & 0xff), port);
      }
      sent += batch;
      const want = base + sent;
      await until(() => seen() >= want, `${sent} datagrams to arrive`);
    }
  };
  await send(MAX_QUEUED + 50, 10);
  assert.deepEqual(u.counts(), { sockets: 1, binding: 0, queued: MAX_QUEUED, dropped: 50 });
  /* The oldest are kept, in order: datagram i is bytes of i. */
  for (let i = 0; i < MAX_QUEUED; i++) {
    const d = decode(fn('udp_recv')(id, 100, {}));
    assert.equal(d.data[0], i & 0xff, `datagram ${i}`);
  }
  /* Large ones: the byte bound. */
  const size = 60000;
  const fits = Math.floor(MAX_QUEUED_BYTES / size);
  await send(fits + 5, size);
  assert.deepEqual(u.counts(), { sockets: 1, binding: 0, queued: fits, dropped: 55 });
  fn('udp_close')(id);
  assert.deepEqual(u.counts(), { sockets: 0, binding: 0, queued: 0, dropped: 55 });
});
