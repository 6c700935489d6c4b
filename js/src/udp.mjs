// udp.mjs: UDP for C programs on the JS host under Node, through node:dgram:
// the host functions behind src/io/hostcall/host_udp.c (src/backend/js/ABI.md, "Sockets").
//
//   "tideloop:udp_open"(host, port)            -> id * 65536 + the bound port
//   "tideloop:udp_send"(id, bytes, host, port) -> bytes.length, once sent
//   "tideloop:udp_recv"(id, max)               -> header + datagram (encode())
//   "tideloop:udp_close"(id)
//
// createUdp() makes one table per runtime, so two runtimes never see each
// other's sockets, and its close() (rt.close) destroys every socket it made.
// The Node adapter passes node:dgram in (this file imports no node: module:
// the package keeps those to node.mjs).
//
// How a socket behaves, and why:
// - Node reads every datagram as it arrives (dgram cannot pause), so those
//   that come while C does not receive wait here, oldest first, up to
//   MAX_QUEUED datagrams or MAX_QUEUED_BYTES bytes; past that a new one is
//   dropped and counted, as the kernel drops what overflows its buffer.
// - A datagram longer than the receive's max is dropped: the answer says so
//   (with its sender), and C completes the receive with EMSGSIZE.
// - A send resolves in Node's send callback (the datagram went to the kernel),
//   with its error otherwise (EACCES for a broadcast, say).
// - Keep-alive as natively: a socket keeps Node alive only while C waits on it
//   (a pending receive) or sends are in flight; it is unref'd otherwise.
// - A value C drops is undone: if C cancels a receive after it was answered but
//   before the answer reached it, the signal aborts anyway (host-ops.mjs hostCancel) and the
//   datagram goes back to the front of the queue; a dropped open closes its
//   socket.
// - The sockets bind without reuseAddr (a port in use is EADDRINUSE, as
//   natively) and exclusively (never shared with cluster workers).

import { TideError, errors } from './errors.mjs';

export const UDP_OPEN = 'tideloop:udp_open';
export const UDP_SEND = 'tideloop:udp_send';
export const UDP_RECV = 'tideloop:udp_recv';
export const UDP_CLOSE = 'tideloop:udp_close';

/* The bounds of the queue of datagrams nobody received yet: about what a
 * kernel buffers (Linux's default is 208 KiB of payload and bookkeeping, which
 * small datagrams fill at a few thousand), with room for large ones. */
export const MAX_QUEUED = 1024;
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

/* Ids stay C ints. */
const MAX_ID = 0x7fffffff;
/* The open answer packs the id above the 16-bit port (host_udp.c). */
const PORT_SPAN = 65536;
/* The receive answer's header (host_udp.c): status, family, port (u16 little
 * endian), the address's length; then the address, then the datagram. */
const HEADER = 5;
const STATUS_DATAGRAM = 0;
const STATUS_TOO_LONG = 1;
/* What C takes at most: INET6_ADDRSTRLEN - 1. */
const MAX_ADDRESS = 45;
/* The largest datagram C sends: 65535 - 20 (IP header) - 8 (UDP header). */
const MAX_SEND = 65507;

function invalid(message) {
  return new TideError(errors.EINVAL, message);
}

/* The receive answer for datagram d ({msg, rinfo}) and a receive of max bytes.
 * The address is Node's (inet_ntop's canonical text, as natively), without an
 * IPv6 zone (natively tide_address has none). */
function encode(d, max) {
  let host = String(d.rinfo.address);
  const zone = host.indexOf('%');
  if (zone >= 0) host = host.slice(0, zone);
  if (host.length === 0 || host.length > MAX_ADDRESS) {
    throw new TideError(errors.EINVAL, `udp_recv: Node gave a sender address C cannot take: ${host}`);
  }
  const tooLong = d.msg.length > max;
  const out = new Uint8Array(HEADER + host.length + (tooLong ? 0 : d.msg.length));
  out[0] = tooLong ? STATUS_TOO_LONG : STATUS_DATAGRAM;
  out[1] = host.includes(':') ? 6 : 4;
  out[2] = d.rinfo.port & 0xff;
  out[3] = d.rinfo.port >>> 8;
  out[4] = host.length;
  for (let i = 0; i < host.length; i++) out[HEADER + i] = host.charCodeAt(i);
  if (!tooLong) out.set(d.msg, HEADER + host.length);
  return out;
}

/* One bound socket and the datagrams it received that C has not taken. An
 * 'error' listener is attached at once: without one, Node would throw the
 * error out of the process. */
class Udp {
  id = 0;
  port = 0;
  open = true;
  queue = []; /* {msg, rinfo}, oldest first */
  bytes = 0; /* the queue's payload bytes */
  error = null; /* a socket error for the next receive */
  #reader = null; /* the waiting receive: {max, resolve, reject, signal, onAbort} */
  #sending = 0; /* sends Node has not called back yet */

  constructor(socket, stats) {
    this.socket = socket;
    this.stats = stats;
    socket.on('message', (msg, rinfo) => this.arrive({ msg, rinfo }));
    socket.on('error', (e) => {
      const r = this.#reader;
      if (r === null) {
        this.error ??= e;
        return;
      }
      this.#unwait();
      r.reject(e);
    });
  }

  /* A datagram for C: to the receive that waits, else into the queue (at its
   * front when it comes back from a dropped answer, bounds or not: it was
   * queued already). */
  arrive(d, front = false) {
    if (!this.open) return;
    const r = this.#reader;
    if (r !== null) {
      this.#unwait();
      let answer;
      try {
        answer = this.#handOut(d, r.max, r.signal);
      } catch (e) {
        r.reject(e);
        return;
      }
      r.resolve(answer);
      return;
    }
    if (front) {
      this.queue.unshift(d);
    } else if (this.queue.length >= MAX_QUEUED || this.bytes + d.msg.length > MAX_QUEUED_BYTES) {
      this.stats.dropped++;
      return;
    } else {
      this.queue.push(d);
    }
    this.bytes += d.msg.length;
  }

  /* The answer to a receive. If C drops it (the signal aborts after this), the
   * datagram goes back to the front of the queue, for the next receive. */
  #handOut(d, max, signal) {
    const answer = encode(d, max);
    signal?.addEventListener('abort', () => this.arrive(d, true), { once: true });
    return answer;
  }

  #unwait() {
    const r = this.#reader;
    this.#reader = null;
    r.signal?.removeEventListener('abort', r.onAbort);
    this.keepAlive();
  }

  recv(max, signal) {
    if (!Number.isInteger(max) || max < 0) throw invalid(`udp_recv: bad max ${max}`);
    if (this.#reader !== null) throw new TideError(errors.EBUSY, 'udp_recv: a receive is pending');
    const d = this.queue.shift();
    if (d !== undefined) {
      this.bytes -= d.msg.length;
      return this.#handOut(d, max, signal);
    }
    if (this.error !== null) {
      const e = this.error;
      this.error = null;
      throw e;
    }
    return new Promise((resolve, reject) => {
      const r = { max, resolve, reject, signal, onAbort: null };
      if (signal) {
        r.onAbort = () => {
          if (this.#reader === r) this.#unwait();
          reject(signal.reason);
        };
        signal.addEventListener('abort', r.onAbort, { once: true });
      }
      this.#reader = r;
      this.keepAlive();
    });
  }

  /* The send callback is the one answer: Node sends whole datagrams, in order. */
  send(bytes, host, port) {
    return new Promise((resolve, reject) => {
      this.#sending++;
      this.keepAlive();
      const done = (err) => {
        this.#sending--;
        this.keepAlive();
        if (err) reject(err);
        else resolve(bytes.length);
      };
      try {
        this.socket.send(bytes, port, host, done);
      } catch (e) {
        done(e);
      }
    });
  }

  keepAlive() {
    if (this.open && (this.#reader !== null || this.#sending > 0)) this.socket.ref();
    else this.socket.unref();
  }

  close() {
    if (!this.open) return;
    this.open = false;
    const r = this.#reader;
    if (r !== null) {
      this.#unwait();
      r.reject(new TideError(errors.ECANCELED, 'the socket was closed'));
    }
    this.queue = [];
    this.bytes = 0;
    try {
      this.socket.close();
    } catch {
      /* closed already (ERR_SOCKET_DGRAM_NOT_RUNNING): nothing left to do */
    }
    this.socket.unref();
  }
}

/** The datagram sockets of one runtime. */
class UdpTable {
  #dgram; /* node:dgram */
  #isIP; /* node:net's isIP */
  sockets = new Map(); /* id -> Udp */
  #binding = new Set(); /* Udp between bind() and 'listening' */
  #nextId = 1;
  #closed = false;
  stats = { dropped: 0 }; /* datagrams dropped at a full queue, ever */

  constructor(dgram, isIP) {
    this.#dgram = dgram;
    this.#isIP = isIP;
  }

  #udp(id) {
    const u = this.sockets.get(id);
    if (u === undefined) throw new TideError(errors.EBADF, `no udp socket ${id} on this host`);
    return u;
  }

  open(host, port, signal) {
    const family = typeof host === 'string' ? this.#isIP(host) : 0;
    if (family === 0) {
      throw invalid(`udp_open: ${JSON.stringify(host)} is not a numeric address`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw invalid(`udp_open: bad port ${port}`);
    }
    if (this.#closed) throw new TideError(errors.ECANCELED, 'the runtime is closed');
    const socket = this.#dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
    const u = new Udp(socket, this.stats);
    this.#binding.add(u);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#binding.delete(u);
        socket.off('error', fail);
        signal?.removeEventListener('abort', onAbort);
      };
      const fail = (e) => {
        done();
        u.close();
        reject(e);
      };
      const onAbort = () => fail(signal.reason);
      socket.prependOnceListener('error', fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      const onListening = () => {
        done();
        if (this.#closed) {
          u.close();
          reject(new TideError(errors.ECANCELED, 'the runtime is closed'));
          return;
        }
        u.id = this.#newId();
        u.port = socket.address().port;
        this.sockets.set(u.id, u);
        u.keepAlive(); /* unref'd until a receive waits */
        /* C dropped the answer: nobody will close this socket but us. */
        signal?.addEventListener('abort', () => this.close(u.id), { once: true });
        resolve(u.id * PORT_SPAN + u.port);
      };
      try {
        socket.bind({ address: host, port, exclusive: true }, onListening);
      } catch (e) {
        fail(e);
      }
    });
  }

  #newId() {
    let id = this.#nextId;
    while (this.sockets.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    this.#nextId = id >= MAX_ID ? 1 : id + 1;
    return id;
  }

  send(id, bytes, host, port) {
    const u = this.#udp(id);
    if (!(bytes instanceof Uint8Array)) throw invalid('udp_send: bytes must be a Uint8Array');
    if (bytes.length > MAX_SEND) throw new TideError(errors.EMSGSIZE, 'udp_send: datagram too long');
    if (typeof host !== 'string' || this.#isIP(host) === 0) {
      throw invalid(`udp_send: ${JSON.stringify(host)} is not a numeric address`);
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw invalid(`udp_send: bad port ${port}`);
    }
    return u.send(bytes, host, port);
  }

  recv(id, max, signal) {
    return this.#udp(id).recv(max, signal);
  }

  close(id) {
    const u = this.sockets.get(id);
    if (u === undefined) return;
    this.sockets.delete(id);
    u.close();
  }

  /** Sizes, for leak tests (rt._udp). */
  counts() {
    let queued = 0;
    for (const u of this.sockets.values()) queued += u.queue.length;
    return {
      sockets: this.sockets.size,
      binding: this.#binding.size,
      queued,
      dropped: this.stats.dropped,
    };
  }

  /** Destroy everything (the runtime closed): sockets, and opens in flight.
   * Idempotent. */
  closeAll() {
    this.#closed = true;
    for (const u of this.sockets.values()) u.close();
    this.sockets.clear();
    for (const u of this.#binding) u.close();
    this.#binding.clear();
  }
}

/**
 * The UDP host functions of one runtime.
 * @param {{dgram: object, isIP: (host: string) => number}} options dgram is
 *   node:dgram (createSocket), isIP node:net's
 * @returns {{functions: Map<string, Function>, counts: () => object, close: () => void}}
 */
export function createUdp({ dgram, isIP } = {}) {
  if (typeof dgram?.createSocket !== 'function' || typeof isIP !== 'function') {
    throw new TypeError('tideloop: createUdp({dgram, isIP}): dgram must be node:dgram, ' +
      'isIP node:net\'s isIP');
  }
  const t = new UdpTable(dgram, isIP);
  return {
    functions: new Map([
      [UDP_OPEN, (host, port, { signal } = {}) => t.open(host, port, signal)],
      [UDP_SEND, (id, bytes, host, port) => t.send(id, bytes, host, port)],
      [UDP_RECV, (id, max, { signal } = {}) => t.recv(id, max, signal)],
      [UDP_CLOSE, (id) => {
        t.close(id);
        return undefined;
      }],
    ]),
    counts: () => t.counts(),
    close: () => t.closeAll(),
  };
}
