// net-direct.test.mjs: the direct path of the JS host's sockets (src/backend/js/ABI.md,
// "Direct I/O"): bytes Node already holds are read, and writes are handed to
// Node, inside one synchronous import (js/src/direct-io.mjs, net.mjs readNow and
// writeNow; src/io/hostcall/host_direct.c), and what must wait waits on fd_wait /
// fd_drain. What a user would notice: reads of bytes already there and writes
// Node takes cost no host operation, and nothing is lost, reordered or held
// unboundedly on the way (cancellation, backpressure, errors, close).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { load } from '../../js/src/node.mjs';
import { createNet } from '../../js/src/net.mjs';
import { directImports } from '../../js/src/direct-io.mjs';
import { errors } from '../../js/src/errors.mjs';
import { MODULE, sleep, until } from './helpers.mjs';

const NET_MODULE = process.env.TIDE_NET_TEST_MODULE ??
  join(dirname(MODULE), 'tide-net-test-module.wasm');
const LOCAL = '127.0.0.1';
const text = (b) => Buffer.from(b).toString();

async function loadNet(t) {
  const rt = await load(NET_MODULE, { stdout: () => {}, stderr: () => {} });
  assert.equal(await rt.main(['net']), 0);
  t.after(() => rt.close());
  return rt;
}

/* A C stream accepted from a node:net peer (peer: the node side). */
async function acceptedPair(rt) {
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const accepted = rt.call('tcp_accept', [l.id]);
  const peer = net.connect(l.port, LOCAL);
  peer.on('error', () => {});
  const s = await accepted;
  await new Promise((r) => (peer.connecting ? peer.once('connect', r) : r()));
  return { l, s, peer };
}

async function closeAll(rt, l, s) {
  await rt.call('stream_close', [s]).catch(() => {});
  await rt.call('tcp_listener_close', [l.id]);
  await until(() => rt._net.sockets === 0 && rt._net.flushing === 0, 'sockets to close');
  const stats = await rt.call('net_stats');
  assert.equal(stats.streams, 0, 'C holds no stream');
  assert.equal(stats.listeners, 0, 'C holds no listener');
}

test('bytes already there are read, and a write Node takes is done, inside the call', async (t) => {
  const rt = await loadNet(t);
  const { l, s, peer } = await acceptedPair(rt);
  peer.write('first');
  /* Nothing there yet: this read waits (fd_wait), which starts Node reading. */
  assert.equal(text(await rt.call('stream_read', [s])), 'first');
  peer.write('second');
  await until(() => rt._net.buffered === 6, 'Node to hold the bytes C has not asked for');
  const before = { ...rt.stats };
  assert.equal(text(await rt.call('stream_read', [s])), 'second');
  assert.equal(rt.stats.hostCalls, before.hostCalls, 'no host operation for bytes already there');
  assert.equal(rt.stats.completions, before.completions, 'and no completion through the ring');
  const echoed = new Promise((r) => peer.once('data', r));
  assert.equal(await rt.call('stream_write', [s, 'pong']), 4);
  assert.equal(rt.stats.hostCalls, before.hostCalls, 'no host operation for a write Node took');
  assert.equal(String(await echoed), 'pong');
  assert.deepEqual(await rt.call('stream_stats', [s]), { written: 4, read: 11, queue: 0 });
  peer.destroy();
  await closeAll(rt, l, s);
});

test('a cancelled read takes nothing: the bytes stay with the host for the next read', async (t) => {
  const rt = await loadNet(t);
  const { l, s, peer } = await acceptedPair(rt);
  const ac = new AbortController();
  const reading = rt.call('stream_read', [s], { signal: ac.signal });
  await until(() => rt._pending.ops === 1, 'the read to wait in the host');
  ac.abort();
  await assert.rejects(reading, (e) => e === ac.signal.reason);
  peer.write('kept');
  await until(() => rt._net.buffered === 4, 'the bytes to arrive');
  /* The wait behind the cancelled read answered; C took nothing for it. */
  await until(() => rt._pending.ops === 0, 'the wait to end');
  assert.equal((await rt.call('stream_stats', [s])).read, 0);
  assert.equal(rt._net.buffered, 4, 'the bytes are still in Node');
  assert.equal(text(await rt.call('stream_read', [s])), 'kept');
  peer.destroy();
  await closeAll(rt, l, s);
});

test('a peer that sends while C does not read is held back: the read-ahead stays bounded', async (t) => {
  const rt = await loadNet(t);
  const { l, s, peer } = await acceptedPair(rt);
  peer.write('x');
  assert.equal(text(await rt.call('stream_read', [s])), 'x'); /* Node reads from now on */
  /* More than the kernel's buffers on both sides hold. */
  const TOTAL = 32 * 1024 * 1024;
  const big = Buffer.alloc(TOTAL);
  for (let i = 0; i < TOTAL; i += 4096) big[i] = (i / 4096) % 251;
  let flushed = false;
  peer.end(big, () => {
    flushed = true;
  });
  await sleep(300);
  assert.equal(flushed, false, 'the peer cannot hand everything to the kernel');
  assert.ok(rt._net.buffered <= 128 * 1024, `Node holds ${rt._net.buffered} bytes for C`);
  const got = Buffer.from(await rt.call('stream_read_all', [s]));
  assert.equal(got.length, TOTAL);
  assert.ok(got.equals(big), 'every byte, in order');
  await closeAll(rt, l, s);
});

test('the bytes before the end of input or a reset are read first', async (t) => {
  const rt = await loadNet(t);
  {
    const { l, s, peer } = await acceptedPair(rt);
    peer.write('a');
    assert.equal(text(await rt.call('stream_read', [s])), 'a');
    peer.end('tail');
    await until(() => rt._net.buffered === 4, 'the tail to arrive');
    assert.equal(text(await rt.call('stream_read', [s])), 'tail');
    await assert.rejects(rt.call('stream_read', [s]), (e) => e.code === 'EOF');
    await closeAll(rt, l, s);
  }
  {
    const { l, s, peer } = await acceptedPair(rt);
    peer.write('a');
    assert.equal(text(await rt.call('stream_read', [s])), 'a');
    peer.write('last words');
    await until(() => rt._net.buffered === 10, 'the bytes to arrive');
    peer.resetAndDestroy();
    await sleep(50); /* the reset reaches Node */
    assert.equal(text(await rt.call('stream_read', [s])), 'last words');
    await assert.rejects(rt.call('stream_read', [s]), (e) => e.code === 'ECONNRESET');
    await assert.rejects(rt.call('stream_write', [s, 'x']),
      (e) => ['ECONNRESET', 'EPIPE'].includes(e.code));
    await closeAll(rt, l, s);
  }
});

test('a write error after Node took the bytes goes to the next operation', async (t) => {
  const rt = await loadNet(t);
  const { l, s, peer } = await acceptedPair(rt);
  assert.equal(await rt.call('stream_write', [s, 'taken']), 5);
  peer.resetAndDestroy();
  /* Writes go on being taken until Node learns of the reset; then every
   * operation fails with it, once each, and nothing completes twice (the debug
   * module asserts that). */
  let code = null;
  for (let i = 0; i < 200 && code === null; i++) {
    try {
      await rt.call('stream_write', [s, 'more']);
      await sleep(5);
    } catch (e) {
      code = e.code;
    }
  }
  assert.ok(['ECONNRESET', 'EPIPE'].includes(code), `the write failed with ${code}`);
  await assert.rejects(rt.call('stream_write', [s, 'again']), (e) => e.code === code);
  await closeAll(rt, l, s);
});

test('closing flushes what Node took: a slow peer still gets every byte, then the end', async () => {
  const n = createNet({ net });
  let peer = null;
  const server = net.createServer({ pauseOnConnect: true }, (p) => {
    peer = p;
  });
  await new Promise((r) => server.listen(0, LOCAL, r));
  const sock = net.connect(server.address().port, LOCAL);
  await new Promise((r) => sock.once('connect', r));
  await until(() => peer !== null, 'the peer');
  const fd = n.adopt(sock);
  const TOTAL = 4 * 1024 * 1024;
  const mem = Buffer.alloc(TOTAL + 8);
  for (let i = 0; i < TOTAL; i++) mem[8 + i] = i % 251;
  /* Past the high-water mark: taken, and C is told to wait for the drain. */
  assert.equal(n.fds.direct(fd).writeNow(mem, 8, TOTAL), 1);
  n.fds.close(fd, 0);
  assert.equal(n.counts().flushing, 1, 'the socket stays until its bytes are out');
  const chunks = [];
  const ended = new Promise((r) => peer.on('end', r));
  peer.on('data', (d) => chunks.push(d));
  peer.resume();
  await ended;
  const got = Buffer.concat(chunks);
  assert.ok(got.equals(mem.subarray(8)), `every byte before the end (${got.length})`);
  await until(() => n.counts().flushing === 0, 'the socket to go');
  peer.destroy();
  n.close();
  server.close();
});

test('a function registered under fd_write takes socket writes too: no direct path then', async (t) => {
  const rt = await loadNet(t);
  const { l, s, peer } = await acceptedPair(rt);
  const seen = [];
  rt.register('tideloop:fd_write', (fd, bytes) => {
    seen.push(text(bytes));
    return bytes.length;
  });
  assert.equal(await rt.call('stream_write', [s, 'to the user']), 11);
  assert.deepEqual(seen, ['to the user']);
  rt.unregister('tideloop:fd_write');
  peer.destroy();
  await closeAll(rt, l, s);
});

test('direct-io.mjs: ENOSYS without a socket, ERANGE for memory C does not have', () => {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const state = { exports: { memory } };
  const conn = { readNow: () => 0, writeNow: () => 0 };
  const none = directImports(state, new Map(), null);
  assert.equal(none.fd_read_now(3, 8, 8), errors.ENOSYS);
  assert.equal(none.fd_write_now(3, 8, 8), errors.ENOSYS);
  const d = directImports(state, new Map(), { direct: (fd) => (fd === 3 ? conn : null) });
  assert.equal(d.fd_read_now(4, 8, 8), errors.ENOSYS, 'an fd that is no socket of ours');
  assert.equal(d.fd_read_now(3, 65536 - 4, 8), errors.ERANGE);
  assert.equal(d.fd_read_now(3, 0, 8), errors.ERANGE);
  assert.equal(d.fd_write_now(3, 65536, 1), errors.ERANGE);
  assert.equal(d.fd_write_now(3, 0, 0), 0, 'an empty write needs no memory');
  assert.equal(d.fd_read_now(3, 8, 8), 0);
  const user = directImports(state, new Map([['tideloop:fd_read', () => {}]]), {
    direct: () => conn,
  });
  assert.equal(user.fd_read_now(3, 8, 8), errors.ENOSYS, "the user's fd_read takes every fd");
  assert.equal(user.fd_write_now(3, 8, 8), 0, 'but not the writes');
});
