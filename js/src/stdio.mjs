// stdio.mjs: the host functions behind C byte streams (tide_stream_*) on the JS
// host, src/backend/js/ABI.md "Host functions the runtime provides":
//
//   "tideloop:fd_read"(fd, max)    -> Uint8Array of 1..max bytes; empty at EOF
//   "tideloop:fd_write"(fd, bytes) -> bytes.length once the bytes are accepted
//   "tideloop:fd_shutdown"(fd)     -> undefined once a socket is shut down
//   "tideloop:fd_close"(fd, reset) -> undefined (reset 1: tide_stream_abort)
//
// Engine-neutral: fd 0 reads from an input source (options.stdin, or what the
// adapter offers: Node's process.stdin), fds 1 and 2 write to a writer per fd
// (the adapter's raw writer, or the runtime's line sinks); stdio is no socket,
// so fd_shutdown on them is ENOTSOCK. Fds from 3 up are the adapter's sockets
// (Node: net.mjs), when it has any; without, they are EBADF.
// The runtime registers these as built-ins; a function the user registers under
// the same name takes precedence (host-ops.mjs start).

import { TideError, errors } from './errors.mjs';
import { utf8 } from './values.mjs';

export const FD_READ = 'tideloop:fd_read';
export const FD_WRITE = 'tideloop:fd_write';
export const FD_CLOSE = 'tideloop:fd_close';
export const FD_SHUTDOWN = 'tideloop:fd_shutdown';

const EMPTY = new Uint8Array(0);

/* A chunk of input as bytes: strings are UTF-8; null/undefined is null. */
function toBytes(v) {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return utf8(v);
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  throw new TideError(errors.EINVAL,
    `stdin gave a ${typeof v}; expected a Uint8Array, an ArrayBuffer or a string`);
}

function concat(a, b) {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function isIterable(v) {
  return v !== null && typeof v === 'object' &&
    (typeof v[Symbol.asyncIterator] === 'function' || typeof v[Symbol.iterator] === 'function');
}

/** True for what options.stdin accepts. */
export function isInputSource(v) {
  return v === undefined || v === null || typeof v === 'string' || typeof v === 'function' ||
    ArrayBuffer.isView(v) || v instanceof ArrayBuffer || isIterable(v);
}

/* Input pulled from an (async) iterator of chunks, one pull at a time, only
 * while a read waits: a chunk larger than a read's max is kept for the next
 * reads, and a read that is aborted while a pull is in flight loses nothing
 * (the chunk lands in the leftover). */
class PulledInput {
  #iterable;
  #it = null;
  #leftover = EMPTY;
  #done = false;
  #error = null;
  #pulling = false;
  #waiters = [];

  constructor(iterable) {
    this.#iterable = iterable;
  }

  read(max, signal) {
    if (this.#waiters.length === 0) {
      const now = this.#takeNow(max);
      if (now !== null) return now;
    }
    return new Promise((resolve, reject) => {
      const w = { max, resolve, reject, signal, onAbort: null };
      if (signal) {
        w.onAbort = () => {
          const i = this.#waiters.indexOf(w);
          if (i >= 0) this.#waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      this.#pump();
    });
  }

  close() {
    this.#waiters.length = 0;
    if (!this.#done && this.#it) {
      this.#done = true;
      Promise.resolve(this.#it.return?.()).catch(() => {});
    }
    this.#done = true;
    this.#leftover = EMPTY;
  }

  /* Bytes for a read now (throws a stored error), or null if it must wait. */
  #takeNow(max) {
    if (this.#leftover.length > 0) {
      const out = this.#leftover.subarray(0, max);
      this.#leftover = this.#leftover.subarray(out.length);
      return out;
    }
    if (this.#error !== null) throw this.#error;
    return this.#done ? EMPTY : null;
  }

  #serve() {
    while (this.#waiters.length > 0) {
      const w = this.#waiters[0];
      let v;
      let err = null;
      try {
        v = this.#takeNow(w.max);
      } catch (e) {
        err = e;
      }
      if (err === null && v === null) break;
      this.#waiters.shift();
      w.signal?.removeEventListener('abort', w.onAbort);
      if (err !== null) w.reject(err);
      else w.resolve(v);
    }
  }

  async #pump() {
    if (this.#pulling) return;
    this.#pulling = true;
    try {
      while (this.#waiters.length > 0 && !this.#done && this.#error === null &&
        this.#leftover.length === 0) {
        try {
          if (this.#it === null) {
            const src = this.#iterable;
            this.#it = typeof src[Symbol.asyncIterator] === 'function'
              ? src[Symbol.asyncIterator]()
              : src[Symbol.iterator]();
          }
          const r = await this.#it.next();
          if (r.done) this.#done = true;
          else {
            const b = toBytes(r.value);
            if (b !== null && b.length > 0) this.#leftover = concat(this.#leftover, b);
          }
        } catch (e) {
          this.#error = e;
        }
        this.#serve();
      }
    } finally {
      this.#pulling = false;
      this.#serve();
    }
  }
}

/* Input from a function called once per read: fn(max, {signal}) returns (or
 * resolves with) bytes or a string (empty, null or undefined: end of input).
 * Bytes beyond max are kept for the next reads. */
class FunctionInput {
  #fn;
  #leftover = EMPTY;

  constructor(fn) {
    this.#fn = fn;
  }

  read(max, signal) {
    if (this.#leftover.length > 0) {
      const out = this.#leftover.subarray(0, max);
      this.#leftover = this.#leftover.subarray(out.length);
      return out;
    }
    return Promise.resolve(this.#fn(max, { signal })).then((v) => {
      const b = toBytes(v) ?? EMPTY;
      if (b.length <= max) return b;
      this.#leftover = b.subarray(max);
      return b.subarray(0, max);
    });
  }

  close() {
    this.#leftover = EMPTY;
  }
}

/**
 * An input source for fd 0 from what options.stdin (or the adapter) gives:
 * nothing (always EOF), a string or bytes (the whole input), a function called
 * per read, or an (async) iterable of chunks.
 */
export function inputSource(src) {
  if (src === undefined || src === null) return new PulledInput([]);
  if (typeof src === 'function') return new FunctionInput(src);
  if (typeof src === 'string' || ArrayBuffer.isView(src) || src instanceof ArrayBuffer) {
    return new PulledInput([toBytes(src)]);
  }
  return new PulledInput(src);
}

function checkFd(fd) {
  if (typeof fd !== 'number' || !Number.isInteger(fd)) {
    throw new TideError(errors.EINVAL, `fd must be an integer, got ${String(fd)}`);
  }
}

function badFd(fd, what) {
  return new TideError(errors.EBADF, `fd ${fd} is not ${what} on this host`);
}

/* The first fd that is not stdio. */
const FIRST_OTHER_FD = 3;

/**
 * The four host functions, as a Map name -> function.
 * @param {{read: (max: number, signal: AbortSignal) => Uint8Array | Promise<Uint8Array>,
 *          close?: () => void}} stdin fd 0
 * @param {Map<number, (bytes: Uint8Array) => number | Promise<number>>} writers fds 1, 2
 * @param {{read(fd, max, signal), write(fd, bytes), shutdown(fd), close(fd)} | null} [sockets]
 *   fds >= 3 (each function throws EBADF for an fd it does not have); null: none
 */
export function stdioFunctions(stdin, writers, sockets = null) {
  const other = (fd) => (fd >= FIRST_OTHER_FD ? sockets : null);
  return new Map([
    /* The options are passed on, not destructured: reading `signal` makes an
     * AbortController, which only a read that must wait needs. */
    [FD_READ, (fd, max, options) => {
      checkFd(fd);
      const n = typeof max === 'number' && max >= 1 ? Math.floor(max) : 65536;
      if (other(fd)) return other(fd).read(fd, n, options);
      if (fd !== 0) throw badFd(fd, 'readable');
      return stdin.read(n, options?.signal);
    }],
    [FD_WRITE, (fd, bytes) => {
      checkFd(fd);
      const b = toBytes(bytes) ?? EMPTY;
      if (other(fd)) return other(fd).write(fd, b);
      const w = writers.get(fd);
      if (w === undefined) throw badFd(fd, 'writable');
      return b.length === 0 ? 0 : w(b);
    }],
    [FD_SHUTDOWN, (fd) => {
      checkFd(fd);
      if (other(fd)) return other(fd).shutdown(fd);
      if (fd === 0 || writers.has(fd)) {
        throw new TideError(errors.ENOTSOCK, `fd ${fd} is not a socket`);
      }
      throw badFd(fd, 'open');
    }],
    [FD_CLOSE, (fd, reset) => {
      checkFd(fd);
      if (other(fd)) return other(fd).close(fd, reset === 1);
      if (fd === 0) stdin.close?.();
      else if (!writers.has(fd)) throw badFd(fd, 'open');
      return undefined;
    }],
  ]);
}
