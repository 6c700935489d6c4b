// net.mjs: TCP for C programs on the JS host under Node, through node:net: the
// host functions behind src/io/hostcall/host_tcp.c (src/backend/js/ABI.md, "Sockets").
//
//   "tideloop:tcp_listen"(host, port, backlog) -> id * 65536 + the bound port
//   "tideloop:tcp_accept"(id)                  -> fd of the next connection
//   "tideloop:tcp_connect"(host, port)         -> fd of a connected socket
//   "tideloop:tcp_listener_close"(id)
//   "tideloop:fd_wait"(fd)   -> once a direct read would not wait
//   "tideloop:fd_drain"(fd)  -> once the send buffer is below its high-water mark
//
// and, for fds >= 3, what fd_read / fd_write / fd_shutdown / fd_close do on a
// socket (stdio.mjs hands those fds to `fds` here), and the sockets' direct
// path (direct-io.mjs: the fd_read_now / fd_write_now imports, ABI.md
// "Direct I/O"). createNet() makes one table
// per runtime, so two runtimes never see each other's fds or listeners, and its
// close() (rt.close) destroys every socket and server it made. The Node adapter
// passes node:net in (this file imports no node: module: the package keeps
// those to node.mjs).
//
// How a socket behaves, and why:
// - Reads pull: the socket is in paused mode and C takes what Node has
//   buffered (socket.read): directly (readNow, inside the import: no promise,
//   no tick, the bytes copied straight into wasm memory) or through fd_read;
//   when nothing is there, it waits for 'readable' (fd_wait: readiness only,
//   so a cancelled wait takes nothing). Node reads ahead only up to its
//   high-water mark, so when C stops reading, the bytes wait in the kernel and
//   the peer is held back (TCP flow control), as natively.
// - A direct write (writeNow) is done once Node took the bytes; if that puts
//   Node's buffer past its high-water mark, C's next write waits for fd_drain,
//   so a slow peer holds C's writer back. An fd_write resolves when Node's
//   write callback fires. A failure after Node took the bytes is kept for the
//   next operation (write, drain or read), as a native socket's error is.
// - Closing flushes: bytes Node took but has not sent yet go out before the
//   socket is destroyed (as close(2) lets the kernel send them), unless C
//   aborted the stream (a reset).
// - allowHalfOpen: the peer's shutdown is end of input while C can still write;
//   C's shutdown (fd_shutdown) is socket.end(), resolved once the FIN is sent.
// - Keep-alive as natively: a socket or server keeps the process alive only
//   while C waits on it: for input (a read or an accept) or for a write or a
//   shutdown to go out. The handle is ref'd then, and unref'd otherwise. Node
//   would keep the process alive for a pending write by its libuv request
//   alone, but Deno's node:net does not (it exits with the write pending), so
//   the ref says it for every runtime. Connects keep it alive by their own
//   pending request.
// - Node accepts eagerly (there is no way to leave connections in the kernel's
//   backlog): connections nobody has accepted yet wait here, paused (no byte is
//   read from them: pauseOnConnect), at most `backlog` of them (511 if the C
//   backlog is <= 0); one more is reset at once.
// - A value C drops is undone: if C cancels an accept or connect after it was
//   answered but before the answer reached it, the signal aborts anyway
//   (host-ops.mjs hostCancel), and the connection goes back to the front of the queue, or the
//   connected socket is destroyed; a dropped listen closes its server.

import { TideError, errors, codeOfThrown } from './errors.mjs';

export const TCP_LISTEN = 'tideloop:tcp_listen';
export const TCP_ACCEPT = 'tideloop:tcp_accept';
export const TCP_CONNECT = 'tideloop:tcp_connect';
export const TCP_LISTENER_CLOSE = 'tideloop:tcp_listener_close';
export const FD_WAIT = 'tideloop:fd_wait';
export const FD_DRAIN = 'tideloop:fd_drain';

/* fd_write_now's answers (ABI.md "Direct I/O"; host_direct.h). */
const DIRECT_DONE = 0;
const DIRECT_DRAIN = 1;

const EMPTY = new Uint8Array(0);
/* 0, 1 and 2 are stdio (stdio.mjs). */
const FIRST_FD = 3;
/* fds and listener ids stay C ints. */
const MAX_HANDLE = 0x7fffffff;
/* The listen answer packs the id above the 16-bit port (host_tcp.c). */
const PORT_SPAN = 65536;
/* Node's own default backlog, and so the bound of the accept queue. */
const DEFAULT_BACKLOG = 511;

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

function invalid(message) {
  return new TideError(errors.EINVAL, message);
}

/* One connected socket, from the moment it exists (accepted or connecting) to
 * its destruction. An 'error' listener is attached at once: without one, Node
 * would throw the error out of the process. */
class Conn {
  fd = -1;
  error = null;
  ended = false;
  gone = false; /* 'close' came: nothing more will arrive */
  /* The waiting fd_read or fd_wait: {max, resolve, reject, signal, onAbort};
   * max 0 for a wait. */
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
     * the signal (an AbortController per wait is most of a wait's cost);
     * anything else (a direct call, a test) gets the signal. Either way a
     * cancelled wait or read stops waiting and lets the socket go. */
    const hook = typeof options?._whenCancelled === 'function';
    const signal = hook ? undefined : options?.signal;
    const w = { max, resolve: null, reject: null, signal, onAbort: null };
    this.#making = w;
    const promise = new Promise(this.#executor);
    this.#making = null;
    if (hook) {
      options._whenCancelled(this.#cancelled, w);
    } else if (signal) {
      w.onAbort = () => this.#stop(w, signal.reason);
      signal.addEventListener('abort', w.onAbort, { once: true });
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
    w.reject(reason);
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
    if (err !== null) w.reject(err);
    else w.resolve(v);
  }

  /* Direct read: up to room bytes Node holds, copied into mem at ptr. The
   * count, 0 if nothing is there, then the error or end of input (after every
   * byte before it). */
  readNow(mem, ptr, room) {
    const s = this.socket;
    const n = s.readableLength;
    if (n > 0) {
      const b = s.read(Math.min(n, room));
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
      w.reject(new TideError(errors.ECANCELED, 'the socket was closed'));
    }
    const d = this.#drainer;
    this.#drainer = null;
    d?.reject(new TideError(errors.ECANCELED, 'the socket was closed'));
  }
}

/* A listening server and the connections it accepted that C has not taken. */
class Listener {
  id = 0;
  port = 0;
  open = true;
  error = null; /* a server error (EMFILE on accept) for the next accept */
  queue = []; /* Conn, oldest first */
  waiters = []; /* {give(conn), fail(err), onAbort} */

  constructor(server, limit, buffers) {
    this.buffers = buffers; /* for its Conns */
    this.server = server;
    this.limit = limit;
    server.on('connection', (socket) => {
      socket.setNoDelay(true); /* as natively: small writes are not held back */
      this.arrive(new Conn(socket, this.buffers));
    });
    server.on('error', (e) => {
      const w = this.waiters.shift();
      if (w !== undefined) w.fail(e);
      else this.error = e;
      this.keepAlive();
    });
  }

  /* A connection for C: to the accept that waits, else into the queue (at its
   * front when it comes back from a dropped accept). */
  arrive(conn, front = false) {
    if (!this.open) {
      conn.destroy();
      return;
    }
    const w = this.waiters.shift();
    if (w !== undefined) {
      this.keepAlive();
      w.give(conn);
      return;
    }
    if (front) {
      this.queue.unshift(conn);
    } else if (this.queue.length < this.limit) {
      this.queue.push(conn);
    } else if (typeof conn.socket.resetAndDestroy === 'function') {
      conn.socket.resetAndDestroy(); /* the queue is full: refuse it */
    } else {
      conn.destroy();
    }
  }

  wait(w) {
    this.waiters.push(w);
    this.keepAlive();
  }

  unwait(w) {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
    this.keepAlive();
  }

  keepAlive() {
    if (this.waiters.length > 0 && this.open) this.server.ref();
    else this.server.unref();
  }

  close() {
    if (!this.open) return;
    this.open = false;
    for (const w of this.waiters.splice(0)) {
      w.fail(new TideError(errors.ECANCELED, 'the listener was closed'));
    }
    for (const c of this.queue.splice(0)) c.destroy();
    this.server.close();
    this.server.unref();
  }
}

/** The sockets and servers of one runtime. */
class NetTable {
  #net; /* node:net */
  #buffers; /* Node's Buffer class, or null */
  sockets = new Map(); /* fd -> Conn: connections C has (or is being handed) */
  listeners = new Map(); /* id -> Listener */
  #binding = new Set(); /* servers between listen() and 'listening' */
  #connecting = new Set(); /* sockets between connect() and 'connect' */
  #flushing = new Set(); /* Conns C closed whose last bytes are still going out */
  #nextFd = FIRST_FD;
  #nextId = 1;
  #closed = false;

  constructor(nodeNet, buffers) {
    this.#net = nodeNet;
    this.#buffers = buffers;
  }

  /* The fds of the runtime's fd_read / fd_write / fd_shutdown / fd_close. */
  fds = {
    read: (fd, max, options) => this.#conn(fd).read(max, options),
    write: (fd, bytes) => this.#conn(fd).write(bytes),
    shutdown: (fd) => this.#conn(fd).shutdown(),
    close: (fd, reset) => {
      const c = this.#conn(fd);
      this.sockets.delete(fd);
      if (reset) {
        c.destroy(true);
        return;
      }
      this.#flushing.add(c);
      c.close(() => this.#flushing.delete(c));
    },
    /* The direct path's socket for fd (direct-io.mjs), or null: not ours;
     * and the view of wasm memory its readNow / writeNow take. */
    direct: (fd) => this.sockets.get(fd) ?? null,
    view: (buffer) => (this.#buffers !== null ? this.#buffers.from(buffer) : new Uint8Array(buffer)),
    wait: (fd, options) => this.#conn(fd).wait(options),
    drain: (fd) => this.#conn(fd).drain(),
  };

  #conn(fd) {
    const c = this.sockets.get(fd);
    if (c === undefined) throw new TideError(errors.EBADF, `fd ${fd} is not open on this host`);
    return c;
  }

  /* Give conn an fd: from here on it is C's, through the fd functions. */
  #adopt(conn) {
    let fd = this.#nextFd;
    while (this.sockets.has(fd)) fd = fd >= MAX_HANDLE ? FIRST_FD : fd + 1;
    this.#nextFd = fd >= MAX_HANDLE ? FIRST_FD : fd + 1;
    conn.fd = fd;
    this.sockets.set(fd, conn);
    conn.keepAlive();
    return fd;
  }

  /* A socket Node made elsewhere (a child's pipe, process.mjs): C's from now on,
   * under a new fd, as a connection. */
  adoptSocket(socket) {
    return this.#adopt(new Conn(socket, this.#buffers));
  }

  /* An fd handed out that C dropped before taking it: no longer C's. */
  #unadopt(conn) {
    if (conn.fd < 0 || this.sockets.get(conn.fd) !== conn) return false;
    this.sockets.delete(conn.fd);
    conn.fd = -1;
    return true;
  }

  listen(host, port, backlog, signal) {
    if (typeof host !== 'string' || this.#net.isIP(host) === 0) {
      throw invalid(`tcp_listen: ${JSON.stringify(host)} is not a numeric address`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw invalid(`tcp_listen: bad port ${port}`);
    }
    if (this.#closed) throw new TideError(errors.ECANCELED, 'the runtime is closed');
    const limit = Number.isInteger(backlog) && backlog > 0 ? backlog : DEFAULT_BACKLOG;
    const server = this.#net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    const l = new Listener(server, limit, this.#buffers);
    this.#binding.add(server);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#binding.delete(server);
        server.off('error', fail);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (e) => {
        done();
        l.close();
        reject(e);
      };
      const onAbort = () => fail(signal.reason);
      server.prependOnceListener('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      server.listen({ host, port, backlog: limit }, () => {
        done();
        if (this.#closed) {
          l.close();
          reject(new TideError(errors.ECANCELED, 'the runtime is closed'));
          return;
        }
        server.unref(); /* until an accept waits */
        l.id = this.#newId();
        l.port = server.address().port;
        this.listeners.set(l.id, l);
        signal?.addEventListener('abort', () => this.closeListener(l.id), { once: true });
        resolve(l.id * PORT_SPAN + l.port);
      });
    });
  }

  #newId() {
    let id = this.#nextId;
    while (this.listeners.has(id)) id = id >= MAX_HANDLE ? 1 : id + 1;
    this.#nextId = id >= MAX_HANDLE ? 1 : id + 1;
    return id;
  }

  accept(id, signal) {
    const l = this.listeners.get(id);
    if (l === undefined) throw new TideError(errors.EBADF, `no listener ${id} on this host`);
    const queued = l.queue.shift();
    if (queued !== undefined) return this.#handOut(l, queued, signal);
    if (l.error !== null) {
      const e = l.error;
      l.error = null;
      throw e;
    }
    return new Promise((resolve, reject) => {
      const w = {
        give: (conn) => {
          signal?.removeEventListener('abort', w.onAbort);
          resolve(this.#handOut(l, conn, signal));
        },
        fail: (e) => {
          signal?.removeEventListener('abort', w.onAbort);
          reject(e);
        },
        onAbort: () => {
          l.unwait(w);
          reject(signal.reason);
        },
      };
      signal?.addEventListener('abort', w.onAbort, { once: true });
      l.wait(w);
    });
  }

  /* The answer to an accept. If C drops it (the signal aborts after this), the
   * connection goes back to the front of the queue, for the next accept. */
  #handOut(l, conn, signal) {
    const fd = this.#adopt(conn);
    signal?.addEventListener('abort', () => {
      if (this.#unadopt(conn)) l.arrive(conn, true);
    }, { once: true });
    return fd;
  }

  connect(host, port, signal) {
    if (typeof host !== 'string' || host === '') {
      throw invalid(`tcp_connect: bad host ${JSON.stringify(host)}`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid(`tcp_connect: bad port ${port}`);
    }
    if (this.#closed) throw new TideError(errors.ECANCELED, 'the runtime is closed');
    /* node:net resolves a name itself (dns.lookup) and tries its addresses. */
    const socket = this.#net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    const conn = new Conn(socket, this.#buffers);
    this.#connecting.add(socket);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#connecting.delete(socket);
        socket.off('connect', onConnect);
        socket.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      const onError = (e) => {
        done();
        socket.destroy();
        reject(e);
      };
      const onAbort = () => onError(signal.reason);
      const onConnect = () => {
        done();
        const fd = this.#adopt(conn);
        /* C dropped the answer: nobody will close this socket but us. */
        signal?.addEventListener('abort', () => {
          if (this.#unadopt(conn)) conn.destroy();
        }, { once: true });
        resolve(fd);
      };
      socket.once('connect', onConnect);
      socket.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  closeListener(id) {
    const l = this.listeners.get(id);
    if (l === undefined) return;
    this.listeners.delete(id);
    l.close();
  }

  /** Sizes, for leak tests (rt._net). */
  counts() {
    let queued = 0;
    for (const l of this.listeners.values()) queued += l.queue.length;
    /* Bytes Node holds for C that C has not read: the read-ahead, bounded by
     * Node's high-water mark whatever the peer sends. */
    let buffered = 0;
    for (const c of this.sockets.values()) buffered += c.socket.readableLength;
    return {
      listeners: this.listeners.size,
      sockets: this.sockets.size,
      queued,
      connecting: this.#connecting.size,
      flushing: this.#flushing.size,
      buffered,
    };
  }

  /** Destroy everything (the runtime closed): servers, queued and C's
   * connections, connects and listens in flight. Idempotent. */
  close() {
    this.#closed = true;
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
    for (const c of this.sockets.values()) c.destroy();
    this.sockets.clear();
    for (const c of this.#flushing) c.destroy();
    this.#flushing.clear();
    for (const s of this.#connecting) s.destroy();
    this.#connecting.clear();
    for (const s of this.#binding) s.close();
    this.#binding.clear();
  }
}

/**
 * The TCP host functions of one runtime, with the socket fds they hand out.
 * @param {{net: object, buffers?: object}} options net is node:net (createServer,
 *   connect, isIP); buffers is Node's Buffer class, for copies Node keeps
 *   without a conversion (optional)
 * @returns {{functions: Map<string, Function>, fds: object, counts: () => object,
 *            close: () => void}}
 */
export function createNet({ net, buffers = null } = {}) {
  if (typeof net?.createServer !== 'function' || typeof net.connect !== 'function') {
    throw new TypeError('tideloop: createNet({net}): net must be node:net');
  }
  const t = new NetTable(net, buffers);
  return {
    functions: new Map([
      [TCP_LISTEN, (host, port, backlog, { signal } = {}) => t.listen(host, port, backlog, signal)],
      [TCP_ACCEPT, (id, { signal } = {}) => t.accept(id, signal)],
      [TCP_CONNECT, (host, port, { signal } = {}) => t.connect(host, port, signal)],
      [TCP_LISTENER_CLOSE, (id) => {
        t.closeListener(id);
        return undefined;
      }],
      /* Options passed on: only a wait that must wait reads its signal. */
      [FD_WAIT, (fd, options) => t.fds.wait(fd, options)],
      [FD_DRAIN, (fd) => t.fds.drain(fd)],
    ]),
    fds: t.fds,
    adopt: (socket) => t.adoptSocket(socket),
    counts: () => t.counts(),
    close: () => t.close(),
  };
}
