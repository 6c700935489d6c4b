// net.test.mjs: TCP on the JS host in Node: C's tide_tcp_* and socket streams
// (src/io/hostcall/host_tcp.c, host_stream.c) over node:net (js/src/net.mjs), against
// node:net peers in this process. The C side is tests/modules/net-test-module.c
// (<build>/tests/modules/tide-net-test-module.wasm, next to the general test module, or
// TIDE_NET_TEST_MODULE).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { execFile } from 'node:child_process';
import net from 'node:net';
import { dirname, join } from 'node:path';
import { load } from '../../js/src/node.mjs';
import { load as loadWeb } from '../../js/src/index.mjs';
import { createNet } from '../../js/src/net.mjs';
import { errors } from '../../js/src/errors.mjs';
import { MODULE, NODE_ENTRY, loadTest, macrotask, sleep, until } from './helpers.mjs';

const NET_MODULE = process.env.TIDE_NET_TEST_MODULE ??
  join(dirname(MODULE), 'tide-net-test-module.wasm');
const LOCAL = '127.0.0.1';

function requireNetModule() {
  if (!existsSync(NET_MODULE)) {
    throw new Error(`the C net test module is missing: ${NET_MODULE} (build the js config, ` +
      'or set TIDE_NET_TEST_MODULE)');
  }
  return NET_MODULE;
}

/* A runtime on the net module, closed (and checked) when the test ends. */
async function loadNet(t, options = {}) {
  const err = [];
  const rt = await load(requireNetModule(), {
    stdout: () => {},
    stderr: (l) => err.push(l),
    ...options,
  });
  assert.equal(await rt.main(['net']), 0);
  t.after(() => rt.close());
  return { rt, err };
}

/* Everything C and net.mjs hold is gone. */
async function assertNothingLeft(rt) {
  await until(() => rt._net.sockets === 0 && rt._net.connecting === 0 && rt._net.flushing === 0,
    'sockets to close');
  const stats = await rt.call('net_stats');
  assert.equal(stats.streams, 0, 'C holds no stream');
  assert.equal(stats.listeners, 0, 'C holds no listener');
  assert.deepEqual(rt._net, { listeners: 0, sockets: 0, queued: 0, connecting: 0, flushing: 0, buffered: 0 });
}

/* A node:net server on an ephemeral port. */
async function nodeServer(t, onConnection, options = {}) {
  const server = net.createServer(options, onConnection);
  await new Promise((res) => server.listen(0, LOCAL, res));
  t.after(() => server.close());
  return { server, port: server.address().port };
}

/* Connect, send data, end, and collect what comes back until the peer ends. */
function nodeExchange(port, data) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const s = net.connect(port, LOCAL);
    s.on('data', (d) => chunks.push(d));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.end(data);
  });
}

const connections = (server) =>
  new Promise((res, rej) => server.getConnections((e, n) => (e ? rej(e) : res(n))));

const rejectsWith = (p, name) => assert.rejects(p, (e) => {
  assert.equal(e.code, name, `${e.name} ${e.code}: ${e.message}`);
  assert.equal(e.name, 'TideError');
  return true;
});

test('an echo server in C serves a C client and node:net clients', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  assert.ok(l.port > 0, 'port 0 gave an ephemeral port');
  const served = rt.call('echo_server', [l.id, 3]);
  const fromC = await rt.call('client', [LOCAL, l.port, 'hello from C']);
  assert.equal(Buffer.from(fromC).toString(), 'hello from C');
  const [a, b] = await Promise.all([
    nodeExchange(l.port, 'hello from node'),
    nodeExchange(l.port, Buffer.alloc(100000, 7)),
  ]);
  assert.equal(a.toString(), 'hello from node');
  assert.deepEqual(b, Buffer.alloc(100000, 7));
  assert.equal(await served, 12 + 15 + 100000);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('half-close both ways: shutdown is the peer\'s end of input, reading goes on', async (t) => {
  const { rt } = await loadNet(t);
  /* C shuts down first; the node peer answers only after its end of input. */
  const { port } = await nodeServer(t, (s) => {
    const got = [];
    s.on('data', (d) => got.push(d));
    s.on('end', () => s.end(`got ${Buffer.concat(got).length} bytes`));
  }, { allowHalfOpen: true });
  const reply = await rt.call('client', [LOCAL, port, 'x'.repeat(5000)]);
  assert.equal(Buffer.from(reply).toString(), 'got 5000 bytes');

  /* The node peer ends first; C still writes (and then reads its own EOF). */
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const accepted = rt.call('tcp_accept', [l.id]);
  const peer = net.connect({ port: l.port, host: LOCAL, allowHalfOpen: true });
  const fromC = [];
  peer.on('data', (d) => fromC.push(d));
  const peerEnded = new Promise((r) => peer.on('end', r));
  peer.end('question');
  const s = await accepted;
  assert.equal(Buffer.from(await rt.call('stream_read_all', [s])).toString(), 'question');
  assert.equal(await rt.call('stream_write', [s, 'answer after your end']), 21);
  assert.equal(await rt.call('stream_shutdown', [s]), 0);
  await peerEnded;
  assert.equal(Buffer.concat(fromC).toString(), 'answer after your end');
  /* Shut down once; writes after it are refused. */
  await rejectsWith(rt.call('stream_shutdown', [s]), 'ECLOSED');
  await rejectsWith(rt.call('stream_write', [s, 'late']), 'ECLOSED');
  const stats = await rt.call('stream_stats', [s]);
  assert.deepEqual(stats, { written: 21, read: 8, queue: 0 });
  await rt.call('stream_close', [s]);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('shutdown of a stream that is no socket is ENOTSOCK at once, and changes nothing', async (t) => {
  const { rt } = await loadNet(t);
  assert.equal(await rt.call('stdio_shutdown', [1]), errors.ENOTSOCK);
  assert.equal(await rt.call('stdio_shutdown', [0]), errors.ENOTSOCK);
});

test('errors come back with their codes: ECONNREFUSED, EADDRINUSE, EINVAL', async (t) => {
  const { rt } = await loadNet(t);
  /* A port that was just free: nobody listens there. */
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  await rt.call('tcp_listener_close', [l.id]);
  await rejectsWith(rt.call('tcp_connect', [LOCAL, l.port]), 'ECONNREFUSED');
  await rejectsWith(rt.call('client', [LOCAL, l.port, 'x']), 'ECONNREFUSED');

  /* Taken by node:net, and by C itself. */
  const { port } = await nodeServer(t, () => {});
  await rejectsWith(rt.call('tcp_listen', [LOCAL, port]), 'EADDRINUSE');
  const mine = await rt.call('tcp_listen', [LOCAL, 0]);
  await rejectsWith(rt.call('tcp_listen', [LOCAL, mine.port]), 'EADDRINUSE');
  await rt.call('tcp_listener_close', [mine.id]);
  /* Closed means free again, for the very next listen. */
  const again = await rt.call('tcp_listen', [LOCAL, mine.port]);
  assert.equal(again.port, mine.port);
  await rt.call('tcp_listener_close', [again.id]);

  /* Refused in C, before any round trip: a name, a bad port. */
  await rejectsWith(rt.call('tcp_listen', ['localhost', 0]), 'EINVAL');
  await rejectsWith(rt.call('tcp_listen', [LOCAL, 70000]), 'EINVAL');
  await rejectsWith(rt.call('tcp_connect', [LOCAL, 0]), 'EINVAL');
  await rejectsWith(rt.call('tcp_connect', ['', 80]), 'EINVAL');
  /* A name that does not resolve (.invalid never does: RFC 6761). */
  await rejectsWith(rt.call('tcp_connect', ['no-such-host.invalid', 80]), 'ENOTFOUND');
  await assertNothingLeft(rt);
});

test('connect resolves names: "localhost" reaches a loopback listener', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const served = rt.call('echo_server', [l.id, 1]);
  const got = await rt.call('client', ['localhost', l.port, 'by name']);
  assert.equal(Buffer.from(got).toString(), 'by name');
  assert.equal(await served, 7);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('a cancelled accept leaves nothing behind: the listener accepts afterwards', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const ac = new AbortController();
  const pending = rt.call('tcp_accept', [l.id], { signal: ac.signal });
  await until(() => rt._pending.ops === 1, 'the accept to reach the host');
  ac.abort();
  await assert.rejects(pending, (e) => e === ac.signal.reason);
  await until(() => rt._pending.ops === 0, 'the host accept to end');

  /* A connection arriving now waits in the queue, paused, for the next accept. */
  const exchange = nodeExchange(l.port, 'after the cancel');
  await until(() => rt._net.queued === 1, 'the connection to be queued');
  const served = rt.call('echo_server', [l.id, 1]);
  assert.equal((await exchange).toString(), 'after the cancel');
  assert.equal(await served, 16);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('a connection arriving as its accept is cancelled is not lost', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const outcomes = { first: 0, next: 0, raced: 0 };
  /* Cancel after 0..N macrotasks: before the connection arrives, while its
   * fd travels to C, after C has it but before the task sees it, after. */
  for (let i = 0; i < 24; i++) {
    const ac = new AbortController();
    const first = rt.call('tcp_accept', [l.id], { signal: ac.signal }).then(
      (slot) => ({ slot }),
      (e) => ({ e }),
    );
    const peer = net.connect(l.port, LOCAL);
    const seen = [];
    peer.on('data', (d) => seen.push(d));
    const closed = new Promise((r) => peer.on('close', r));
    for (let k = 0; k < i % 12; k++) await macrotask();
    if (i >= 12) await sleep(1);
    ac.abort();
    const r = await first;
    let slot = r.slot;
    if (slot !== undefined) outcomes.first++;
    else assert.equal(r.e, ac.signal.reason, 'the abort\'s reason');
    if (slot === undefined) {
      /* Either C won the race and closed it (the peer sees the close, and the
       * module counts it), or the connection waits for this accept. */
      const next = rt.call('tcp_accept', [l.id]);
      const which = await Promise.race([next.then((s) => ({ s })), closed.then(() => ({}))]);
      if (which.s !== undefined) {
        slot = which.s;
        outcomes.next++;
      } else {
        outcomes.raced++;
        /* The pending accept is left for the next connection: give it one. */
        const filler = net.connect(l.port, LOCAL);
        const s = await next;
        await rt.call('stream_close', [s]);
        await new Promise((res) => filler.on('close', res).resume());
      }
    }
    if (slot !== undefined) {
      await rt.call('stream_write', [slot, 'hi']);
      await rt.call('stream_close', [slot]);
      await closed;
      assert.equal(Buffer.concat(seen).toString(), 'hi', `round ${i}: the peer got its greeting`);
    }
  }
  const stats = await rt.call('net_stats');
  assert.equal(stats.racedClosed, outcomes.raced, 'every connection C closed was a race it won');
  assert.equal(outcomes.first + outcomes.next + outcomes.raced, 24);
  assert.ok(outcomes.next > 0, `some connections went to the next accept: ${JSON.stringify(outcomes)}`);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('an accept C cancels after its answer reached C holds the connection for the next', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  rt.register('sync', () => 0);
  const peer = net.connect(l.port, LOCAL);
  const seen = [];
  peer.on('data', (d) => seen.push(d));
  const closed = new Promise((r) => peer.on('close', r));
  await until(() => rt._net.queued === 1, 'the connection to be queued');
  /* The accept answered at once (the fd), but C cancelled it before its
   * future completed: C holds the fd (nothing is queued in JS any more). */
  assert.equal(await rt.call('accept_behind_sync', [l.id]), -1);
  assert.deepEqual(rt._net, { listeners: 1, sockets: 1, queued: 0, connecting: 0, flushing: 0, buffered: 0 });
  /* The next accept takes it without asking the host. */
  const calls = rt.stats.hostCalls;
  const slot = await rt.call('tcp_accept', [l.id]);
  assert.equal(rt.stats.hostCalls, calls);
  await rt.call('stream_write', [slot, 'hi']);
  await rt.call('stream_close', [slot]);
  await closed;
  assert.equal(Buffer.concat(seen).toString(), 'hi');

  /* Held when the listener closes: the connection is closed with it. */
  const peer2 = net.connect(l.port, LOCAL);
  const closed2 = new Promise((r) => peer2.on('close', r).resume());
  await until(() => rt._net.queued === 1, 'the second connection to be queued');
  assert.equal(await rt.call('accept_behind_sync', [l.id]), -1);
  await rt.call('tcp_listener_close', [l.id]);
  await closed2;
  await assertNothingLeft(rt);
});

test('a cancelled connect destroys its socket: nothing left on either side', async (t) => {
  const { rt } = await loadNet(t);
  const { server, port } = await nodeServer(t, (s) => s.resume());
  /* Deterministic: abort right after the tick that started the connect, while
   * node:net is still connecting. */
  const ac = new AbortController();
  rt._onHostCall = (_op, name) => {
    if (name === 'tideloop:tcp_connect') queueMicrotask(() => ac.abort());
  };
  await assert.rejects(rt.call('tcp_connect', [LOCAL, port], { signal: ac.signal }),
    (e) => e === ac.signal.reason);
  rt._onHostCall = undefined;
  await assertNothingLeft(rt);

  /* Every other moment, racing the connection. */
  let connected = 0;
  for (let i = 0; i < 20; i++) {
    const c = new AbortController();
    const p = rt.call('tcp_connect', [LOCAL, port], { signal: c.signal });
    for (let k = 0; k < i % 10; k++) await macrotask();
    if (i >= 10) await sleep(1);
    c.abort();
    try {
      const slot = await p;
      connected++;
      await rt.call('stream_close', [slot]);
    } catch (e) {
      assert.equal(e, c.signal.reason, 'the abort\'s reason');
    }
  }
  assert.ok(connected < 20, 'some connects were cancelled');
  await assertNothingLeft(rt);
  for (let i = 0; i < 200 && (await connections(server)) > 0; i++) await sleep(5);
  assert.equal(await connections(server), 0, 'the server saw every connection close');
});

test('a peer reset fails the pending read with ECONNRESET, and later writes', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const accepted = rt.call('tcp_accept', [l.id]);
  const peer = net.connect(l.port, LOCAL);
  await new Promise((r) => peer.on('connect', r));
  peer.write('some bytes first');
  const s = await accepted;
  assert.equal(Buffer.from(await rt.call('stream_read', [s])).toString(), 'some bytes first');
  const reading = rt.call('stream_read', [s]);
  await until(() => rt._pending.ops === 1, 'the read to wait in the host');
  peer.resetAndDestroy();
  await rejectsWith(reading, 'ECONNRESET');
  let writeError = null;
  await assert.rejects(rt.call('stream_write', [s, 'into the void']), (e) => {
    assert.ok(['ECONNRESET', 'EPIPE'].includes(e.code), e.code);
    writeError = e.code;
    return true;
  });
  /* Close reports the stream's first write error. */
  await rejectsWith(rt.call('stream_close', [s]), writeError);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('abort cancels queued writes and resets the peer, as natively', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const accepted = rt.call('tcp_accept', [l.id]);
  const peer = net.connect(l.port, LOCAL);
  peer.pause(); // reads nothing: the writes stall
  const peerError = new Promise((resolve) => peer.on('error', (e) => resolve(e.code)));
  const s = await accepted;
  const cancelled = await rt.call('stream_abort', [s, 64]);
  assert.ok(cancelled >= 1 && cancelled <= 64, `cancelled ${cancelled}`);
  peer.resume();
  assert.equal(await peerError, 'ECONNRESET');
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('200 concurrent connections from node:net clients', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0, 256]);
  const N = 200;
  const served = rt.call('echo_server', [l.id, N]);
  const payload = (i) => Buffer.from(`client ${i} `.repeat(100 + (i % 17)));
  const replies = await Promise.all(
    Array.from({ length: N }, (_, i) => nodeExchange(l.port, payload(i))),
  );
  let total = 0;
  replies.forEach((r, i) => {
    assert.deepEqual(r, payload(i), `client ${i} got its own bytes back`);
    total += r.length;
  });
  assert.equal(await served, total);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('8 MiB to a slow reader: C waits for each write, so its queue stays bounded', async (t) => {
  const { rt } = await loadNet(t);
  const TOTAL = 8 * 1024 * 1024;
  let peer = null;
  /* pauseOnConnect: the peer reads nothing until the test says so. */
  const { port } = await nodeServer(t, (s) => {
    peer = s;
  }, { pauseOnConnect: true });
  const s = await rt.call('tcp_connect', [LOCAL, port]);
  await until(() => peer !== null, 'the peer');
  const sending = rt.call('stream_send_pattern', [s, TOTAL]);

  /* Nobody reads: the kernel's buffers fill, then the write callback stops
   * coming, and C stops (it has one write of 64 KiB at most in flight). */
  let last = -1;
  let stats;
  for (let i = 0; i < 400; i++) {
    await sleep(25);
    stats = await rt.call('stream_stats', [s]);
    if (stats.written === last) break;
    last = stats.written;
  }
  assert.ok(stats.written < TOTAL, `C stalled at ${stats.written} of ${TOTAL} bytes`);
  assert.ok(stats.queue <= 65536, `C's queue stays at one write: ${stats.queue}`);

  /* Now read slowly: a chunk, a pause, and check every byte. */
  let got = 0;
  let bad = -1;
  await new Promise((resolve, reject) => {
    peer.on('error', reject);
    /* Whatever Node has buffered (at most its high-water mark), then a pause:
     * read() asks Node for more only as it drains. */
    const step = () => {
      let chunk;
      while ((chunk = peer.read()) !== null) {
        for (let i = 0; i < chunk.length; i++) {
          if (bad < 0 && chunk[i] !== (got + i) % 251) bad = got + i;
        }
        got += chunk.length;
      }
      if (got >= TOTAL) resolve();
      else setTimeout(step, 2);
    };
    step();
  });
  assert.equal(bad, -1, 'every byte arrived in order');
  assert.equal(got, TOTAL);
  const result = await sending;
  assert.equal(result.sent, TOTAL);
  assert.ok(result.maxQueue <= 65536, `max queue ${result.maxQueue}`);
  const end = await rt.call('stream_stats', [s]);
  assert.equal(end.written, TOTAL);
  assert.equal(end.read, 0);
  await rt.call('stream_close', [s]);
  await assertNothingLeft(rt);
});

test('bytes read counts what arrived, also past a cancelled read', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  const accepted = rt.call('tcp_accept', [l.id]);
  const peer = net.connect(l.port, LOCAL);
  const s = await accepted;
  const ac = new AbortController();
  const reading = rt.call('stream_read', [s], { signal: ac.signal });
  await until(() => rt._pending.ops === 1, 'the read to wait in the host');
  ac.abort();
  await assert.rejects(reading, (e) => e === ac.signal.reason);
  peer.end('0123456789');
  /* The host read behind the cancelled one goes on and buffers the bytes. */
  assert.equal(Buffer.from(await rt.call('stream_read_all', [s])).toString(), '0123456789');
  assert.equal((await rt.call('stream_stats', [s])).read, 10);
  await rt.call('stream_close', [s]);
  await rt.call('tcp_listener_close', [l.id]);
  await assertNothingLeft(rt);
});

test('rt.close() destroys every socket and server of the runtime', async (t) => {
  const { rt } = await loadNet(t);
  const l = await rt.call('tcp_listen', [LOCAL, 0]);
  /* One connection C holds, one queued for an accept, one C connected out. */
  const accepted = rt.call('tcp_accept', [l.id]);
  const held = net.connect(l.port, LOCAL);
  await accepted;
  const queued = net.connect(l.port, LOCAL);
  await until(() => rt._net.queued === 1, 'the queued connection');
  const { port } = await nodeServer(t, (s) => s.resume());
  await rt.call('tcp_connect', [LOCAL, port]);
  assert.deepEqual(rt._net, { listeners: 1, sockets: 2, queued: 1, connecting: 0, flushing: 0, buffered: 0 });
  const closed = (s) => new Promise((r) => s.on('close', r).resume());
  const both = Promise.all([closed(held), closed(queued)]);
  rt.close();
  await both;
  assert.deepEqual(rt._net, { listeners: 0, sockets: 0, queued: 0, connecting: 0, flushing: 0, buffered: 0 });
  /* The port is free again. */
  const again = net.createServer();
  await new Promise((res, rej) => again.once('error', rej).listen(l.port, LOCAL, res));
  again.close();
});

test('an idle listener does not keep Node alive; a pending accept does', async () => {
  const run = (code) => new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', code], { timeout: 20000 },
      (error, stdout, stderr) => resolve({ error, stdout, stderr }));
  });
  const prelude = `
    import { load } from ${JSON.stringify(NODE_ENTRY)};
    const rt = await load(${JSON.stringify(requireNetModule())}, { stdout() {}, stderr() {} });
    await rt.main(['net']);
    const l = await rt.call('tcp_listen', ['127.0.0.1', 0]);`;
  /* Nothing waits on the listener: the process ends by itself. */
  const idle = await run(`${prelude} console.log('listening');`);
  assert.equal(idle.error, null, idle.stderr);
  assert.equal(idle.stdout.trim(), 'listening');
  /* An accept waits: the process lives until a connection comes (from a child
   * of its own after 300 ms, so the test does not depend on timing). */
  const waiting = await run(`${prelude}
    const net = await import('node:net');
    const t0 = Date.now();
    setTimeout(() => net.connect(l.port, '127.0.0.1').end(), 300).unref();
    const s = await rt.call('tcp_accept', [l.id]);
    await rt.call('stream_close', [s]);
    await rt.call('tcp_listener_close', [l.id]);
    console.log(Date.now() - t0 >= 250 ? 'accepted' : 'too early');`);
  assert.equal(waiting.error, null, waiting.stderr);
  assert.equal(waiting.stdout.trim(), 'accepted');
});

test('without node:net (the web entry) TCP is ENOSYS, through the future', async () => {
  const rt = await loadWeb(await import('node:fs/promises').then((fs) => fs.readFile(requireNetModule())), {
    stdout: () => {},
    stderr: () => {},
  });
  try {
    assert.equal(await rt.main(['net']), 0);
    assert.equal(rt._net, null);
    await rejectsWith(rt.call('tcp_listen', [LOCAL, 0]), 'ENOSYS');
    await rejectsWith(rt.call('tcp_connect', [LOCAL, 80]), 'ENOSYS');
    assert.equal(await rt.call('stdio_shutdown', [1]), errors.ENOTSOCK);
  } finally {
    rt.close();
  }
});

test('net.mjs: an fd C dropped goes back to the front of the accept queue', async (t) => {
  const n = createNet({ net });
  t.after(() => n.close());
  const fn = (name) => n.functions.get(`tideloop:${name}`);
  const packed = await fn('tcp_listen')(LOCAL, 0, 0, {});
  const id = Math.floor(packed / 65536);
  const port = packed % 65536;
  const c1 = new AbortController();
  const first = fn('tcp_accept')(id, { signal: c1.signal });
  const peer = net.connect(port, LOCAL);
  const fd = await first;
  assert.ok(fd >= 3);
  assert.deepEqual(n.counts(), { listeners: 1, sockets: 1, queued: 0, connecting: 0, flushing: 0, buffered: 0 });
  /* The host runtime aborts the signal when C dropped the answer. */
  c1.abort();
  assert.deepEqual(n.counts(), { listeners: 1, sockets: 0, queued: 1, connecting: 0, flushing: 0, buffered: 0 });
  await assert.rejects(Promise.resolve().then(() => n.fds.read(fd, 10)), { code: 'EBADF', errno: errors.EBADF });
  const fd2 = await fn('tcp_accept')(id, {});
  peer.write('still here');
  assert.equal(Buffer.from(await n.fds.read(fd2, 100)).toString(), 'still here');
  /* Reads take at most max bytes; the rest stays for the next read. */
  peer.write('abcdef');
  assert.equal(Buffer.from(await n.fds.read(fd2, 4)).toString(), 'abcd');
  assert.equal(Buffer.from(await n.fds.read(fd2, 4)).toString(), 'ef');
  peer.end();
  assert.equal((await n.fds.read(fd2, 4)).length, 0, 'end of input');
  n.fds.close(fd2);
  fn('tcp_listener_close')(id);
  assert.deepEqual(n.counts(), { listeners: 0, sockets: 0, queued: 0, connecting: 0, flushing: 0, buffered: 0 });
});

test('a host function\'s signal aborts when C drops the value it already returned', async () => {
  const { rt } = await loadTest();
  try {
    /* Another operation in flight makes give's value wait for the next
     * macrotask tick, to be batched with the other's (scheduler.mjs kick), so
     * the cancel that give queues as a microtask comes first. */
    let release = null;
    rt.register('hold', () => new Promise((r) => (release = r)));
    const held = rt.call('call_host_any', ['hold', 0]);
    await until(() => release !== null, 'hold to start');
    const ac = new AbortController();
    let signal = null;
    rt.register('give', (x, opts) => {
      signal = opts.signal;
      /* After this returns, the call is cancelled before C took the value. */
      queueMicrotask(() => ac.abort());
      return x;
    });
    await assert.rejects(rt.call('call_host_any', ['give', 42], { signal: ac.signal }),
      (e) => e === ac.signal.reason);
    await until(() => signal?.aborted, 'the signal to abort');
    release(1);
    assert.equal(await held, 1);
    /* A value C took is never followed by an abort. */
    let kept = null;
    rt.register('keep', (x, opts) => {
      kept = opts.signal;
      return x;
    });
    assert.equal(await rt.call('call_host_any', ['keep', 7]), 7);
    await macrotask();
    assert.equal(kept.aborted, false);
  } finally {
    rt.close();
  }
});

test('net.mjs: a pending write or shutdown keeps the socket referenced', async (t) => {
  /* Node alone would stay alive for a pending write (libuv's request), Deno
   * does not: the socket's own ref must say it. node:net's handle reports it
   * (hasRef); the socket is the one net.mjs made, caught at connect. */
  const made = [];
  const n = createNet({
    net: {
      isIP: net.isIP,
      createServer: net.createServer,
      connect: (...args) => {
        const s = net.connect(...args);
        made.push(s);
        return s;
      },
    },
  });
  t.after(() => n.close());
  let peer;
  const { port } = await nodeServer(t, (s) => {
    peer = s;
    s.pause(); /* read nothing: a large write stays pending */
  });
  t.after(() => peer?.destroy());
  const fd = await n.functions.get('tideloop:tcp_connect')(LOCAL, port, {});
  await until(() => peer !== undefined, 'the server to accept');
  const socket = made[0];
  assert.equal(socket._handle.hasRef(), false, 'idle: unref\'d');
  const write = n.fds.write(fd, new Uint8Array(32 << 20));
  assert.equal(socket._handle.hasRef(), true, 'a write is pending: ref\'d');
  peer.resume(); /* drain it */
  assert.equal(await write, 32 << 20);
  assert.equal(socket._handle.hasRef(), false, 'written: unref\'d again');
  const shutdown = n.fds.shutdown(fd);
  assert.equal(socket._handle.hasRef(), true, 'a shutdown is pending: ref\'d');
  await shutdown;
  assert.equal(socket._handle.hasRef(), false, 'shut down: unref\'d again');
  n.fds.close(fd);
});
