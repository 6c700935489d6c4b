// net-conn.mjs: one connected socket of the runtime's TCP table (net.mjs), as
// C's fd functions and the direct path (direct-io.mjs) see it: reads that pull
// what Node buffered or wait for it, direct writes and drains, half-close,
// keep-alive and the flushing close. Why each behaves as it does is in
// net.mjs's header and src/backend/js/ABI.md ("Sockets", "Direct I/O").

import { TideError, errors, codeOfThrown } from './errors.mjs';
import { LATER } from './host-ops.mjs';

const EMPTY = new Uint8Array(0);
/* fd_write_now's answers (ABI.md "Direct I/O"; host_direct.h). */
const DIRECT_DONE = 0;
const DIRECT_DRAIN = 1;

/* A copy of mem[ptr, ptr + len) that Node keeps. A Buffer from Node's pool
 * when mem is one (the table's view of memory): a slice() of a Uint8Array
 * would be turned into a Buffer by socket.write, and for small sizes that
 * means V8 first moves the typed array's bytes off its heap, which costs more
 * than the copy. buffers: Node's Buffer class, or null. */
function copyOut(buffers, mem, ptr, len) {
  if (buffers === null || typeof mem.copy !== 'function') return mem.slice(ptr, ptr + len);
  const b = buffers.allocUnsafe(len);
  mem.copy(b, 0, ptr, ptr + len);
  return b;
}

/* Complete a waiting read or wait (Conn #reader) once. */
function finish(w, ok, value) {
  if (w.options !== null) w.options._settle(ok, value);
  else if (ok) w.resolve(value);
  else w.reject(value);
}

/* One connected socket, from the moment it exists (accepted or connecting) to
 * its destruction. An 'error' listener is attached at once: without one, Node
 * would throw the error out of the process. */
export class Conn {
  fd = -1;
  error = null;
  ended = false;
  gone = false; /* 'close' came: nothing more will arrive */
  /* The waiting fd_read or fd_wait: {max, options, resolve, reject, signal,
   * onAbort}; max 0 for a wait. Completed through options._settle when the
   * host operation offers it, else through its promise's resolvers. */
  #reader = null;
  #watching = false;
  #sending = 0; /* writes and shutdowns whose callback has not come yet */
  #drainer = null; /* the waiting fd_drain: {resolve, reject} */
  #refd = null; /* whether the socket is ref'd, once keepAlive() decided */
  #flushing = false; /* C closed it; its last bytes are going out (close) */
  /* The callback of every direct write: made once, not per write. */
  #written = (err) => {
    this.#sending--;
    if (err) this.#failed(err);
    this.keepAlive();
  };

  /* buffers: Node's Buffer class (copyOut), or null. */
  constructor(socket, buffers = null) {
    this.socket = socket;
    this.buffers = buffers;
    socket.on('error', (e) => this.#failed(e));
    socket.on('end', () => {
      this.ended = true;
      this.#serve();
    });
    socket.on('close', () => {
      this.gone = true;
      this.#serve();
      this.#drained();
    });
  }

  /* The socket failed (its 'error', or a write's callback): kept for the next
   * operation, and told to the ones that wait. */
  #failed(e) {
    this.error ??= this.#why(e);
    this.#serve();
    this.#drained();
  }

  /* options: the host function's, whose signal is read only when the read
   * must wait (making it costs an AbortController). */
  read(max, options) {
    const now = this.#take(max);
    if (now !== null) return now;
    return this.#await(max, options);
  }

  /* fd_wait: the number of bytes there (a hint) once a direct read would not
   * wait; it takes nothing, so an aborted wait leaves the bytes for the next
   * read. */
  wait(options) {
    if (this.#ready()) return this.socket.readableLength;
    return this.#await(0, options);
  }

  #ready() {
    return this.socket.readableLength > 0 || this.error !== null || this.ended || this.gone;
  }

  /* A read (max > 0) or a wait (max 0) that must wait for 'readable'. */
  #await(max, options) {
    /* The runtime's host operations offer a cancel hook that costs less than
     * the signal (an AbortController per wait is most of a wait's cost), and
     * a way to complete without a promise (host-ops.mjs LATER); anything else
     * (a direct call, a test) gets a promise and the signal. Either way a
     * cancelled wait or read stops waiting and lets the socket go. */
    const hook = typeof options?._whenCancelled === 'function' &&
      typeof options._settle === 'function';
    const signal = hook ? undefined : options?.signal;
    const w = { max, options: hook ? options : null, resolve: null, reject: null, signal,
      onAbort: null };
    let promise = LATER;
    if (hook) {
      options._whenCancelled(this.#cancelled, w);
    } else {
      this.#making = w;
      promise = new Promise(this.#executor);
      this.#making = null;
      if (signal) {
        w.onAbort = () => this.#stop(w, signal.reason);
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
    }
    this.#reader = w;
    this.keepAlive();
    /* The first 'readable' listener starts Node reading (paused mode). */
    if (!this.#watching) {
      this.#watching = true;
      this.socket.on('readable', () => this.#serve());
    }
    /* Node may have seen the end of input already, and then says nothing
     * more ('readable' was emitted for the bytes before it) until someone
     * reads: read() on the empty buffer makes it emit 'end' (and otherwise
     * just keeps it reading). */
    this.socket.read();
    return promise;
  }

  /* Made once, not per wait (a wait per request of a busy socket): the
   * promise's executor fills in the waiter being made, and a cancel hook
   * stops the waiter it is given. */
  #making = null;
  #executor = (resolve, reject) => {
    this.#making.resolve = resolve;
    this.#making.reject = reject;
  };
  #cancelled = (w) => this.#stop(w, new TideError(errors.ECANCELED, 'cancelled'));

  /* A waiting read or wait given up (cancelled): it no longer holds the
   * socket, and takes nothing. */
  #stop(w, reason) {
    if (this.#reader !== w) return;
    this.#reader = null;
    w.signal?.removeEventListener('abort', w.onAbort);
    this.keepAlive();
    finish(w, false, reason);
  }

  /* What a read gets now: bytes Node buffered, then a stored error, then end of
   * input; null if it must wait. */
  #take(max) {
    const s = this.socket;
    const n = s.readableLength;
    if (n > 0) return s.read(Math.min(n, max));
    if (this.error !== null) throw this.error;
    if (this.ended || this.gone) return EMPTY;
    return null;
  }

  #serve() {
    const w = this.#reader;
    if (w === null) return;
    let v = null;
    let err = null;
    if (w.max === 0) {
      if (this.#ready()) v = this.socket.readableLength;
    } else {
      try {
        v = this.#take(w.max);
      } catch (e) {
        err = e;
      }
    }
    if (err === null && v === null) {
      /* 'readable' at end of input brings no bytes: read() then lets Node emit
       * 'end' (it reads nothing while the buffer is empty). */
      this.socket.read();
      return;
    }
    this.#reader = null;
    w.signal?.removeEventListener('abort', w.onAbort);
    this.keepAlive();
    if (err !== null) finish(w, false, err);
    else finish(w, true, v);
  }

  /* Direct read: up to room bytes Node holds, copied into mem at ptr. The
   * count, 0 if nothing is there, then the error or end of input (after every
   * byte before it). */
  readNow(mem, ptr, room) {
    const s = this.socket;
    const n = s.readableLength;
    if (n > 0) {
      const b = s.read(Math.min(n, room));
      /* null would mean Node holds back what it counted: nothing to take. */
      if (b === null) return 0;
      mem.set(b, ptr);
      return b.length;
    }
    if (this.error !== null) return codeOfThrown(this.error);
    if (this.ended || this.gone) return errors.EOF;
    return 0;
  }

  /* Direct write: Node takes a copy of mem[ptr, ptr + len) now. DIRECT_DRAIN
   * when that puts its buffer past the high-water mark (C waits for fd_drain
   * before its next write); an error code, with nothing taken, if the socket
   * failed or is gone. */
  writeNow(mem, ptr, len) {
    if (this.error !== null) return codeOfThrown(this.error);
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return errors.EPIPE;
    if (len === 0) return DIRECT_DONE;
    this.#sending++;
    this.keepAlive();
    return s.write(copyOut(this.buffers, mem, ptr, len), this.#written) ? DIRECT_DONE : DIRECT_DRAIN;
  }

  /* fd_drain: resolves once Node's send buffer is below its high-water mark;
   * fails with the socket's error. Nothing to undo if C gives up on it. */
  drain() {
    if (this.error !== null) throw this.error;
    const s = this.socket;
    if (!s.writableNeedDrain) return undefined;
    if (s.destroyed) throw new TideError(errors.EPIPE, 'the socket was closed');
    if (this.#drainer !== null) throw new TideError(errors.EBUSY, 'a drain is already waiting');
    return new Promise((resolve, reject) => {
      this.#drainer = { resolve, reject };
      s.once('drain', () => this.#drained());
    });
  }

  /* The drain came, or the socket failed or closed: the waiting fd_drain ends. */
  #drained() {
    const d = this.#drainer;
    if (d === null) return;
    if (this.socket.writableNeedDrain && this.error === null && !this.gone) return;
    this.#drainer = null;
    if (this.error !== null) d.reject(this.error);
    else if (this.gone) d.reject(new TideError(errors.EPIPE, 'the socket was closed'));
    else d.resolve(undefined);
  }

  write(bytes) {
    if (bytes.length === 0) return 0;
    return this.#send((done) => this.socket.write(bytes, done), bytes.length);
  }

  shutdown() {
    return this.#send((done) => this.socket.end(done), undefined);
  }

  /* Start a write or an end, holding a ref until its callback (keepAlive). */
  #send(start, value) {
    return new Promise((resolve, reject) => {
      this.#sending++;
      this.keepAlive();
      start((err) => {
        this.#sending--;
        this.keepAlive();
        if (err) reject(this.#why(err));
        else resolve(value);
      });
    });
  }

  /* A write or end on a socket Node destroyed fails with Node's own
   * ERR_STREAM_DESTROYED; the error that destroyed it (ECONNRESET) says more. */
  #why(err) {
    return typeof err?.code === 'string' && err.code.startsWith('ERR_') && this.error !== null
      ? this.error
      : err;
  }

  /* Only on a change: a ref and an unref per request cost more than this. */
  keepAlive() {
    const want = this.#reader !== null || this.#sending > 0 || this.#flushing;
    if (want === this.#refd) return;
    this.#refd = want;
    if (want) this.socket.ref();
    else this.socket.unref();
  }

  /* reset: C aborted the stream, so the peer gets a reset (as natively, where
   * the socket is closed with a zero linger) rather than a clean end. */
  destroy(reset = false) {
    this.#stopWaiting();
    if (reset && typeof this.socket.resetAndDestroy === 'function') this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  /* C closed its fd (fd_close, not a reset): what Node took but has not sent
   * yet still goes out, then a FIN, as close(2) lets the kernel do. Calls
   * gone() once the socket is destroyed; until then it stays ref'd (as the
   * pending write would keep Node alive). */
  close(gone) {
    this.#stopWaiting();
    const s = this.socket;
    if (s.destroyed || s.writableLength === 0) {
      s.destroy();
      gone();
      return;
    }
    /* Destroyed once: after the FIN went out, or by an error or rt.close(). */
    const done = () => {
      if (!this.#flushing) return;
      this.#flushing = false;
      s.destroy();
      gone();
    };
    s.once('close', done);
    s.once('finish', done);
    this.#flushing = true;
    this.keepAlive();
    if (!s.writableEnded) s.end();
  }

  #stopWaiting() {
    const w = this.#reader;
    this.#reader = null;
    if (w !== null) {
      w.signal?.removeEventListener('abort', w.onAbort);
      finish(w, false, new TideError(errors.ECANCELED, 'the socket was closed'));
    }
    const d = this.#drainer;
    this.#drainer = null;
    d?.reject(new TideError(errors.ECANCELED, 'the socket was closed'));
  }
}
