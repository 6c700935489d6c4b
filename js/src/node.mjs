// node.mjs: the package's entry under Node (the "node" export condition), and
// the only file of the package that uses node: APIs. Same API as index.mjs;
// what differs is the adapter:
// - ticks run from setImmediate (a macrotask after Node's I/O phase; a
//   MessageChannel would keep the process alive while open);
// - the loop's one host timer is ref'd iff the C loop has referenced work, so
//   the process stays alive exactly as long as the C program would natively;
// - output goes to process.stdout / process.stderr: C's printf as lines, and C
//   streams (tide_stream_write on fd 1 and 2) as exact bytes, each write
//   resolving once Node has handed it to the OS (backpressure);
// - C streams on fd 0 read process.stdin on demand (stdinReader below);
// - C has TCP (tide_tcp_*, node:net: net.mjs), UDP (tide_udp_*, node:dgram:
//   udp.mjs) and name resolution (tide_resolve, dns.lookup: dns.mjs), as host
//   functions built into each runtime (src/backend/js/ABI.md "Sockets"); a browser has
//   none of them, and C gets ENOSYS;
// - C has subprocesses (tide_process_*, node:child_process: process.mjs);
// - C has WebSocket messages (tide_ws_*, ws.mjs) only where this Node has a
//   global WebSocket (Node 22, or Node 20 with --experimental-websocket);
//   elsewhere C gets ENOSYS;
// - load() also takes a file path or a file: URL.

import { Buffer } from 'node:buffer';
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import { lookup } from 'node:dns';
import { accessSync, closeSync, constants as fsConstants, openSync, readSync, statSync }
  from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { loadWith } from './load.mjs';
import { createNet } from './net.mjs';
import { createProcesses } from './process.mjs';
import { createUdp } from './udp.mjs';
import { dnsFunctions } from './dns.mjs';
import { createWebSockets, engineWebSocket } from './ws.mjs';

export {
  TideError, TideExit, errors, errorTable, errorName, strerror, errorCodeOf,
} from './errors.mjs';
export { Runtime } from './runtime.mjs';

/* "http:", "https:", "data:", "blob:", "file:" and the like; not "C:" (a
 * Windows drive letter is one character). */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

/* process.stdin read on demand, for the "tideloop:fd_read" host function on
 * fd 0. One reader per process (every runtime that has no options.stdin shares
 * it). process.stdin is only touched at the first read. It flows, and is ref'd,
 * only while a read waits; otherwise it is paused and unref'd, so a program
 * that stopped reading does not keep the process alive (as natively, where
 * nobody polls fd 0 then). Bytes beyond a read's max wait here for the next
 * read; an aborted read takes nothing. */
function createStdinReader() {
  let stdin = null;
  let leftover = null; /* a Buffer, or null */
  let ended = false;
  let error = null;
  const waiters = [];

  function take(max) {
    const out = leftover.subarray(0, max);
    leftover = out.length < leftover.length ? leftover.subarray(out.length) : null;
    return out;
  }

  function settle(w, err, value) {
    w.signal?.removeEventListener('abort', w.onAbort);
    if (err) w.reject(err);
    else w.resolve(value);
  }

  function serve() {
    while (waiters.length > 0) {
      if (leftover === null && error === null && !ended) break;
      const w = waiters.shift();
      if (leftover !== null) settle(w, null, take(w.max));
      else if (error !== null) settle(w, error);
      else settle(w, null, new Uint8Array(0));
    }
    if (stdin === null) return;
    /* pause() alone does not stop Node from reading fd 0 (it reads ahead to
     * fill its buffer), so the handle is also unref'd while nobody waits. A
     * file on stdin has no handle to unref: its reads end by themselves. */
    if (waiters.length > 0 && !ended && error === null) {
      stdin.ref?.();
      stdin.resume();
    } else {
      stdin.pause();
      stdin.unref?.();
    }
  }

  function open() {
    stdin = process.stdin;
    stdin.on('data', (chunk) => {
      leftover = leftover === null ? chunk : Buffer.concat([leftover, chunk]);
      serve();
    });
    stdin.on('end', () => {
      ended = true;
      serve();
    });
    stdin.on('error', (e) => {
      error = e;
      serve();
    });
  }

  return (max, { signal } = {}) => {
    if (waiters.length === 0 && (leftover !== null || ended || error !== null)) {
      if (error !== null) return Promise.reject(error);
      return leftover !== null ? take(max) : new Uint8Array(0);
    }
    return new Promise((resolve, reject) => {
      const w = { max, resolve, reject, signal, onAbort: null };
      if (signal) {
        w.onAbort = () => {
          const i = waiters.indexOf(w);
          if (i >= 0) waiters.splice(i, 1);
          reject(signal.reason);
          serve();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      waiters.push(w);
      if (stdin === null) open();
      serve();
    });
  };
}

/* A write error on process.stdout / stderr (EPIPE when the reader went away)
 * reaches the write's callback, and so the C stream (TIDE_EPIPE); Node also
 * emits it as an 'error' event, which would kill the process without a
 * listener. So the first write through a stream adds one that ignores it. */
const guarded = new WeakSet();

function writeFd(fd, bytes) {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', () => {});
  }
  return new Promise((resolve, reject) => {
    stream.write(bytes, (err) => {
      if (!err) resolve(bytes.length);
      else if (err.code === 'ERR_STREAM_DESTROYED') {
        reject(Object.assign(new Error(err.message), { code: 'EPIPE' }));
      } else reject(err);
    });
  });
}

const nodeAdapter = {
  queueTick: (fn) => {
    setImmediate(fn);
  },
  setTimer(fn, ms, ref) {
    const h = setTimeout(fn, ms);
    if (!ref) h.unref();
    return h;
  },
  clearTimer: (h) => clearTimeout(h),
  refTimer(h, ref) {
    if (ref) h.ref();
    else h.unref();
  },
  stdout: (line) => {
    process.stdout.write(`${line}\n`);
  },
  stderr: (line) => {
    process.stderr.write(`${line}\n`);
  },
  stdin: createStdinReader(),
  writeFd,
  /* Per runtime: its own sockets (fds from 3 up), listeners and datagram
   * sockets, destroyed with it, and name resolution. */
  builtins() {
    const sockets = createNet({ net, buffers: Buffer });
    const datagrams = createUdp({ dgram, isIP: net.isIP });
    /* WebSockets only where Node has the class; not in counts(), so rt._net
     * keeps node:net's shape. */
    const WebSocket = engineWebSocket();
    const websockets = WebSocket === null ? null : createWebSockets({ WebSocket });
    const children = createProcesses({
      childProcess,
      adopt: sockets.adopt,
      closeFd: (fd) => sockets.fds.close(fd, false),
      env: () => process.env,
      isDir: (path) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false,
      signals: os.constants.signals,
      probe: probeProgram,
      cwd: () => process.cwd(),
    });
    const functions = new Map([...sockets.functions, ...datagrams.functions,
      ...dnsFunctions({ lookup }), ...children.functions, ...(websockets?.functions ?? [])]);
    return {
      functions,
      fds: sockets.fds,
      counts: sockets.counts,
      udpCounts: datagrams.counts,
      processCounts: children.counts,
      close: () => {
        try {
          children.close();
          sockets.close();
        } finally {
          try {
            datagrams.close();
          } finally {
            websockets?.close();
          }
        }
      },
    };
  },
  /* File paths and file: URLs are read from disk; other URLs are fetched by the
   * host. Returns undefined for what it does not handle. */
  async resolveSource(source, signal) {
    if (source instanceof URL) {
      return source.protocol === 'file:' ? readFile(fileURLToPath(source), { signal }) : undefined;
    }
    if (typeof source === 'string') {
      if (source.startsWith('file:')) return readFile(fileURLToPath(source), { signal });
      if (!URL_SCHEME.test(source)) return readFile(source, { signal });
    }
    return undefined;
  },
};

/* Whether path is a program the system runs, as execve would answer: 'ok',
 * 'ENOENT' (nothing there, or not a file), 'EACCES' (not executable) or
 * 'ENOEXEC' (neither a script with "#!" nor an ELF binary). */
function probeProgram(path) {
  try {
    if (!statSync(path).isFile()) return 'ENOENT';
    accessSync(path, fsConstants.X_OK);
    const head = Buffer.alloc(4);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, head, 0, 4, 0);
    } finally {
      closeSync(fd);
    }
    const script = head[0] === 0x23 && head[1] === 0x21; /* "#!" */
    const elf = head[0] === 0x7f && head.toString('latin1', 1, 4) === 'ELF';
    return script || elf ? 'ok' : 'ENOEXEC';
  } catch (e) {
    return e?.code === 'EACCES' || e?.code === 'EPERM' ? 'EACCES' : 'ENOENT';
  }
}

/**
 * Load a tideloop module: a file path, a URL (file: read from disk, others
 * fetched), bytes, a fetch Response, a WebAssembly.Module, or a promise of one.
 * @param {*} source
 * @param {{stdout?: (line: string) => void, stderr?: (line: string) => void,
 *          stdin?: *, args?: string[], env?: Record<string, string> | string[],
 *          signal?: AbortSignal}} [options]
 */
export function load(source, options = {}) {
  return loadWith(source, options, nodeAdapter);
}
