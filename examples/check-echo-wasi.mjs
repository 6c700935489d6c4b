// check-echo-wasi.mjs: ctest's check of examples/echo.c under WASI
// (example-echo-wasi-handed-in): the server takes a listening socket that the
// runtime hands in (as wasmtime's --tcplisten does) and echoes a connection
// over sock_accept, sock_recv, sock_send and sock_shutdown.
//
//   node check-echo-wasi.mjs echo.wasm
//
// No runtime on this machine can hand a real socket to a WASI module (Node's
// WASI has no socket preopens, and crashes on a socket passed as stdin), so
// this is a scripted runtime: Node's WASI for everything else, with the socket
// calls answered here on two made-up fds - 3 (the listener) and 4 (the one
// connection it gives out), whose peer sends a script and reads the echo. It
// checks the module's side of the preview1 socket ABI: what it calls, in what
// order, with which buffers, and that it polls the fds instead of spinning.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import path from 'node:path';

const file = process.argv[2];
if (!file) {
  console.error('usage: node check-echo-wasi.mjs echo.wasm');
  process.exit(2);
}

const E = { SUCCESS: 0, AGAIN: 6, BADF: 8, INVAL: 28, NOTSOCK: 57 };
const FILETYPE_SOCKET_STREAM = 6;
const EVENTTYPE_CLOCK = 0, EVENTTYPE_FD_READ = 1, EVENTTYPE_FD_WRITE = 2;
const LISTENER = 3, CONN = 4;

// The peer's script: chunks it sends (one per sock_recv at most), then EOF.
const script = ['hello\n', 'world, in two ', 'chunks\n', 'x'.repeat(70000)].map((s) => Buffer.from(s));
const expected = Buffer.concat(script);
const log = []; // the socket calls, in order
let accepted = false;
let toSend = [...script];
let received = [];
let shutdownHow = null;
let closed = new Set();
let polls = 0;
const fdflags = new Map(); // what fd_fdstat_get reports as fs_flags (NONBLOCK: 4)

const wasi = new WASI({
  version: 'preview1',
  args: [path.basename(file), 'server', '--listen-fd', String(LISTENER), '--count', '1'],
  env: {},
  returnOnExit: true,
});
const base = wasi.getImportObject().wasi_snapshot_preview1;
let memory = null;
const view = () => new DataView(memory.buffer);
const bytes = () => new Uint8Array(memory.buffer);
const ours = (fd) => (fd === LISTENER || (fd === CONN && accepted)) && !closed.has(fd);

const imports = {
  ...base,
  fd_fdstat_get(fd, out) {
    if (!ours(fd)) return base.fd_fdstat_get(fd, out);
    const v = view();
    v.setUint8(out, FILETYPE_SOCKET_STREAM);
    v.setUint16(out + 2, fdflags.get(fd) ?? 0, true);
    v.setBigUint64(out + 8, 0xffffffffn, true);
    v.setBigUint64(out + 16, 0xffffffffn, true);
    return E.SUCCESS;
  },
  fd_filestat_get(fd, out) {
    if (!ours(fd)) return base.fd_filestat_get(fd, out);
    bytes().fill(0, out, out + 64);
    view().setUint8(out + 16, FILETYPE_SOCKET_STREAM);
    return E.SUCCESS;
  },
  fd_fdstat_set_flags(fd, flags) {
    if (!ours(fd)) return base.fd_fdstat_set_flags(fd, flags);
    log.push(`set_flags(${fd}, ${flags})`);
    fdflags.set(fd, flags);
    return E.SUCCESS;
  },
  fd_close(fd) {
    if (!ours(fd)) return base.fd_close(fd);
    log.push(`close(${fd})`);
    closed.add(fd);
    return E.SUCCESS;
  },
  fd_read(fd, iovs, n, out) {
    if (ours(fd)) return E.NOTSOCK; // streams on sockets must use sock_recv
    return base.fd_read(fd, iovs, n, out);
  },
  fd_write(fd, iovs, n, out) {
    if (ours(fd)) return E.NOTSOCK; // and sock_send
    return base.fd_write(fd, iovs, n, out);
  },
  sock_accept(fd, flags, outFd) {
    if (fd !== LISTENER || closed.has(fd)) return E.BADF;
    log.push(`accept(${fd}, flags=${flags})`);
    if (accepted) return E.AGAIN; // one connection in the whole script
    accepted = true;
    fdflags.set(CONN, flags & 4); // the fd is non-blocking if asked (FDFLAGS_NONBLOCK)
    view().setUint32(outFd, CONN, true);
    return E.SUCCESS;
  },
  sock_recv(fd, iovs, niovs, riFlags, outLen, outFlags) {
    if (fd !== CONN || !ours(fd)) return E.BADF;
    const v = view();
    let n = 0;
    const chunk = toSend.shift();
    if (chunk !== undefined) {
      let off = 0;
      for (let i = 0; i < niovs && off < chunk.length; i++) {
        const ptr = v.getUint32(iovs + i * 8, true), len = v.getUint32(iovs + i * 8 + 4, true);
        const take = Math.min(len, chunk.length - off);
        bytes().set(chunk.subarray(off, off + take), ptr);
        off += take;
      }
      if (off < chunk.length) toSend.unshift(chunk.subarray(off)); // the rest next time
      n = off;
    }
    log.push(chunk === undefined ? 'recv -> EOF' : 'recv');
    v.setUint32(outLen, n, true);
    v.setUint16(outFlags, 0, true);
    return E.SUCCESS;
  },
  sock_send(fd, iovs, niovs, siFlags, outLen) {
    if (fd !== CONN || !ours(fd)) return E.BADF;
    if (shutdownHow !== null) return 29; // EIO: a send after the shutdown is a bug
    const v = view();
    let n = 0;
    for (let i = 0; i < niovs; i++) {
      const ptr = v.getUint32(iovs + i * 8, true), len = v.getUint32(iovs + i * 8 + 4, true);
      // A peer that takes at most 4096 bytes a call: partial sends must be handled.
      const take = Math.min(len, 4096 - n);
      received.push(Buffer.from(bytes().subarray(ptr, ptr + take)));
      n += take;
      if (take < len) break;
    }
    log.push('send');
    v.setUint32(outLen, n, true);
    return E.SUCCESS;
  },
  sock_shutdown(fd, how) {
    if (fd !== CONN || !ours(fd)) return E.BADF;
    log.push(`shutdown(${how})`);
    shutdownHow = how;
    return E.SUCCESS;
  },
  // Subscriptions on our fds are answered at once (the peer is always ready);
  // any other subscription goes to Node's WASI.
  poll_oneoff(inPtr, outPtr, nsubs, outN) {
    polls++;
    const v = view();
    const events = [];
    let other = false;
    for (let i = 0; i < nsubs; i++) {
      const s = inPtr + i * 48;
      const tag = v.getUint8(s + 8);
      if (tag === EVENTTYPE_CLOCK) continue;
      const fd = v.getUint32(s + 16, true);
      if (ours(fd)) events.push({ userdata: v.getBigUint64(s, true), tag });
      else other = true;
    }
    if (events.length === 0 || other) {
      if (events.length === 0) return base.poll_oneoff(inPtr, outPtr, nsubs, outN);
      return E.INVAL; // the echo server watches nothing else
    }
    events.forEach((e, i) => {
      const o = outPtr + i * 32;
      bytes().fill(0, o, o + 32);
      v.setBigUint64(o, e.userdata, true);
      v.setUint8(o + 10, e.tag === EVENTTYPE_FD_READ ? EVENTTYPE_FD_READ : EVENTTYPE_FD_WRITE);
    });
    v.setUint32(outN, events.length, true);
    return E.SUCCESS;
  },
};

const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: imports });
memory = instance.exports.memory;
const code = wasi.start(instance);

const echoed = Buffer.concat(received);
const failures = [];
if (code !== 0) failures.push(`exit status ${code}`);
if (!echoed.equals(expected)) failures.push(`echoed ${echoed.length} bytes, expected ${expected.length} equal bytes`);
if (shutdownHow !== 2) failures.push(`shutdown: ${shutdownHow} (expected 2: SDFLAGS_WR, the write side)`);
if (!closed.has(CONN) || !closed.has(LISTENER)) failures.push('a socket was not closed');
if (polls > 200) failures.push(`${polls} polls for one short connection: spinning?`);
if (!log.includes('accept(3, flags=4)')) failures.push('the connection was not accepted non-blocking');
if (failures.length > 0) {
  console.error(`check-echo-wasi: ${failures.join('; ')}\ncalls: ${log.join(', ')}`);
  process.exit(1);
}
console.log(`check-echo-wasi: ${echoed.length} bytes echoed over a handed-in socket ` +
  `(${log.filter((c) => c === 'send').length} sends, ${polls} polls)`);
