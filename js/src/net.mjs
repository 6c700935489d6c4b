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

import { TideError, errors } from './errors.mjs';
import { Conn } from './net-conn.mjs';

export const TCP_LISTEN = 'tideloop:tcp_listen';
export const TCP_ACCEPT = 'tideloop:tcp_accept';
export const TCP_CONNECT = 'tideloop:tcp_connect';
export const TCP_LISTENER_CLOSE = 'tideloop:tcp_listener_close';
export const FD_WAIT = 'tideloop:fd_wait';
export const FD_DRAIN = 'tideloop:fd_drain';

/* 0, 1 and 2 are stdio (stdio.mjs). */
const FIRST_FD = 3;
/* fds and listener ids stay C ints. */
const MAX_HANDLE = 0x7fffffff;
/* The listen answer packs the id above the 16-bit port (host_tcp.c). */
const PORT_SPAN = 65536;
/* Node's own default backlog, and so the bound of the accept queue. */
const DEFAULT_BACKLOG = 511;

function invalid(message) {
  return new TideError(errors.EINVAL, message);
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
