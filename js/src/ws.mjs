// ws.mjs: WebSocket messages for C programs on the JS host, through the
// engine's standard WebSocket (a browser's, or Node's where it has one): the
// host functions behind src/io/hostcall/host_ws.c (src/backend/js/ABI.md, "WebSockets").
//
//   "tideloop:ws_connect"(url)            -> id, once the socket is open
//   "tideloop:ws_send"(id, bytes, binary) -> bytes.length, once bufferedAmount
//                                            is below SEND_BOUND
//   "tideloop:ws_recv"(id, max)           -> Uint8Array: kind (0 text, 1
//                                            binary), then the message's bytes
//   "tideloop:ws_close"(id)               -> undefined, after the close event
//
// createWebSockets() makes one table per runtime, so two runtimes never see
// each other's sockets, and its close() (rt.close) closes every socket it
// made. Only standard APIs are used: the adapters pass the WebSocket class in
// (index.mjs and node.mjs register these functions only where one exists, so
// elsewhere C's call finds no function and tide_ws_connect gives ENOSYS).
//
// How a socket behaves, and why:
// - Messages that arrive while C is not receiving wait here, in order
//   (binaryType 'arraybuffer'; a text message is kept as its UTF-8 bytes, so
//   its length is the one C sees). A WebSocket cannot be paused, so this
//   queue is unbounded: a C program that stops receiving holds its peer's
//   messages in memory, as a browser page would.
// - Nothing is lost to cancellation: an aborted receive takes nothing, and a
//   message already handed to a receive whose signal then aborts (C dropped
//   the answer: host-ops.mjs hostCancel) goes back to the front of the queue.
// - A message longer than the receive's max is dropped with EMSGSIZE (without
//   copying it into wasm), and the next receive gets the next message.
// - The close comes after the messages before it: code 1000 is EOF, anything
//   else (another code, an 'error' event, the TCP connection dropped) is
//   ECONNRESET, for every receive from then on.
// - There is no event for "the send buffer drained", so a send whose message
//   left bufferedAmount at or above SEND_BOUND waits, and the socket polls
//   bufferedAmount (every POLL_MS while a send waits, and at each incoming
//   message). Sends waiting when the socket closes resolve if it closed
//   cleanly (everything was sent before the close frame), else fail with
//   ECONNRESET. A send on a socket that is closing or closed is ECLOSED.
// - Text that is not UTF-8 is EINVAL (C checks it first; this is the same
//   check for a program that calls the function itself).

import { TideError, errors } from './errors.mjs';

export const WS_CONNECT = 'tideloop:ws_connect';
export const WS_SEND = 'tideloop:ws_send';
export const WS_RECV = 'tideloop:ws_recv';
export const WS_CLOSE = 'tideloop:ws_close';

/** A send resolves once bufferedAmount is below this many bytes. */
export const SEND_BOUND = 1 << 20;
/* How often bufferedAmount is polled while a send waits: often enough that a
 * writer keeps the socket busy, rarely enough to cost nothing while idle. */
const POLL_MS = 5;
/* Ids stay C ints. */
const MAX_ID = 0x7fffffff;
const TEXT = 0;
const BINARY = 1;
/* WebSocket.readyState values (the constants are static on the class). */
const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 3;
const NORMAL_CLOSURE = 1000;

const encoder = new TextEncoder();
/* fatal: invalid UTF-8 throws rather than becoming U+FFFD; ignoreBOM: a
 * leading BOM is part of the message, not eaten. */
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(message) {
  return new TideError(errors.EINVAL, message);
}

function cancelled(message) {
  return new TideError(errors.ECANCELED, message);
}

/* One WebSocket, from its construction to its close. Listeners are attached at
 * once, so nothing that arrives between 'open' and C's first receive is
 * missed. */
class Sock {
  id = 0;
  opened = false;
  closed = false;
  errored = false;
  /* [code, message] once the socket closed: what every receive gets after the
   * queue. */
  end = null;
  /* Called once by the connect that made this socket: onOpen(), onFail(). */
  onOpen = null;
  onFail = null;
  #queue = []; /* {kind, bytes}, oldest first */
  #reader = null; /* the waiting receive: {max, resolve, reject, signal, onAbort} */
  #senders = []; /* sends waiting for the buffer to drain: {n, resolve, reject, ...} */
  #closers = []; /* resolves of ws_close calls waiting for 'close' */
  #poll = null;

  constructor(ws) {
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.addEventListener('open', () => {
      this.opened = true;
      this.onOpen?.();
    });
    ws.addEventListener('message', (ev) => this.#arrive(ev.data));
    /* A connection that fails before it opened is told by 'error' alone in
     * Node 20's WebSocket (undici never sends the 'close' the standard
     * promises, and readyState stays CONNECTING), so either event fails the
     * connect; the first one wins. */
    ws.addEventListener('error', () => {
      this.errored = true;
      if (!this.opened) this.onFail?.();
    });
    ws.addEventListener('close', (ev) => this.#closed(ev));
  }

  #arrive(data) {
    if (typeof data === 'string') {
      this.#queue.push({ kind: TEXT, bytes: encoder.encode(data) });
    } else if (data instanceof ArrayBuffer) {
      this.#queue.push({ kind: BINARY, bytes: new Uint8Array(data) });
    } else if (ArrayBuffer.isView(data)) {
      this.#queue.push({ kind: BINARY,
        bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    } else {
      /* A Blob: binaryType was changed behind our back. Read it, in order. */
      const slot = { kind: BINARY, bytes: null };
      this.#queue.push(slot);
      Promise.resolve(data.arrayBuffer()).then((b) => {
        slot.bytes = new Uint8Array(b);
        this.#serve();
      }, () => {
        slot.bytes = new Uint8Array(0);
        this.#serve();
      });
    }
    this.#serve();
    this.#checkSenders();
  }

  #closed(ev) {
    this.closed = true;
    const code = ev?.code ?? 1006;
    if (!this.opened) {
      this.onFail?.();
    } else if (code === NORMAL_CLOSURE && !this.errored) {
      this.end = [errors.EOF, 'the WebSocket was closed (code 1000)'];
    } else {
      const why = ev?.reason ? `: ${ev.reason}` : '';
      this.end = [errors.ECONNRESET, `the WebSocket closed with code ${code}${why}`];
    }
    this.#serve();
    this.#stopPoll();
    const clean = ev?.wasClean === true;
    for (const s of this.#senders.splice(0)) {
      s.signal?.removeEventListener('abort', s.onAbort);
      if (clean) s.resolve(s.n);
      else {
        s.reject(new TideError(errors.ECONNRESET,
          'the WebSocket closed before the message was sent'));
      }
    }
    for (const r of this.#closers.splice(0)) r();
  }

  /* What a receive gets now: a message (or EMSGSIZE for one too long), then
   * the end; null if it must wait. */
  #take(max, signal) {
    const m = this.#queue[0];
    if (m !== undefined) {
      if (m.bytes === null) return null; /* a Blob still being read */
      this.#queue.shift();
      if (m.bytes.length > max) {
        throw new TideError(errors.EMSGSIZE,
          `a WebSocket message of ${m.bytes.length} bytes is longer than ${max}`);
      }
      const out = new Uint8Array(m.bytes.length + 1);
      out[0] = m.kind;
      out.set(m.bytes, 1);
      /* C dropped the answer (its receive was cancelled after this one was
       * picked): the message goes back in front, for the next receive. */
      signal?.addEventListener('abort', () => {
        this.#queue.unshift(m);
        this.#serve();
      }, { once: true });
      return out;
    }
    if (this.end !== null) throw new TideError(this.end[0], this.end[1]);
    return null;
  }

  recv(max, signal) {
    if (this.#reader !== null) {
      throw new TideError(errors.EBUSY, 'a WebSocket receive is already waiting');
    }
    const now = this.#take(max, signal);
    if (now !== null) return now;
    return new Promise((resolve, reject) => {
      const w = { max, resolve, reject, signal, onAbort: null };
      if (signal) {
        w.onAbort = () => {
          if (this.#reader === w) this.#reader = null;
          reject(signal.reason);
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#reader = w;
    });
  }

  #serve() {
    const w = this.#reader;
    if (w === null) return;
    let v = null;
    let err = null;
    w.signal?.removeEventListener('abort', w.onAbort);
    try {
      v = this.#take(w.max, w.signal);
    } catch (e) {
      err = e;
    }
    if (err === null && v === null) {
      if (w.signal) w.signal.addEventListener('abort', w.onAbort, { once: true });
      return;
    }
    this.#reader = null;
    if (err !== null) w.reject(err);
    else w.resolve(v);
  }

  send(bytes, kind, signal) {
    if (!(bytes instanceof Uint8Array)) {
      throw invalid('ws_send(id, bytes, binary): bytes must be a Uint8Array');
    }
    if (kind !== TEXT && kind !== BINARY) {
      throw invalid('ws_send(id, bytes, binary): binary must be 0 or 1');
    }
    const ws = this.ws;
    if (ws.readyState !== OPEN) {
      throw new TideError(errors.ECLOSED, 'the WebSocket is closing or closed');
    }
    if (kind === TEXT) {
      let text;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw invalid('ws_send: a text message must be UTF-8');
      }
      ws.send(text);
    } else {
      ws.send(bytes);
    }
    const n = bytes.length;
    if (!(ws.bufferedAmount >= SEND_BOUND)) return n;
    return new Promise((resolve, reject) => {
      const s = { n, resolve, reject, signal, onAbort: null };
      if (signal) {
        s.onAbort = () => {
          const i = this.#senders.indexOf(s);
          if (i >= 0) this.#senders.splice(i, 1);
          if (this.#senders.length === 0) this.#stopPoll();
          reject(signal.reason);
        };
        signal.addEventListener('abort', s.onAbort, { once: true });
      }
      this.#senders.push(s);
      this.#startPoll();
    });
  }

  #checkSenders() {
    if (this.#senders.length === 0 || this.ws.bufferedAmount >= SEND_BOUND) return;
    this.#stopPoll();
    for (const s of this.#senders.splice(0)) {
      s.signal?.removeEventListener('abort', s.onAbort);
      s.resolve(s.n);
    }
  }

  #startPoll() {
    if (this.#poll !== null) return;
    const tick = () => {
      this.#poll = null;
      this.#checkSenders();
      if (this.#senders.length > 0) this.#poll = setTimeout(tick, POLL_MS);
    };
    this.#poll = setTimeout(tick, POLL_MS);
  }

  #stopPoll() {
    if (this.#poll !== null) clearTimeout(this.#poll);
    this.#poll = null;
  }

  /* Close with 1000 and resolve after the close event (at once if closed). */
  close() {
    if (this.closed) return undefined;
    if (this.ws.readyState === CONNECTING || this.ws.readyState === OPEN) {
      this.ws.close(NORMAL_CLOSURE);
    }
    return new Promise((resolve) => this.#closers.push(() => resolve(undefined)));
  }

  /* The runtime is going: close, fail whatever waits, forget the poll. */
  destroy() {
    this.#stopPoll();
    const w = this.#reader;
    this.#reader = null;
    if (w !== null) {
      w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(cancelled('the WebSocket was closed'));
    }
    for (const s of this.#senders.splice(0)) {
      s.signal?.removeEventListener('abort', s.onAbort);
      s.reject(cancelled('the WebSocket was closed'));
    }
    if (this.ws.readyState !== CLOSED) {
      try {
        this.ws.close(NORMAL_CLOSURE);
      } catch {
        /* close() throws only for bad arguments; nothing more can be done */
      }
    }
  }
}

/** The WebSockets of one runtime. */
class WsTable {
  #WebSocket;
  sockets = new Map(); /* id -> Sock: sockets C has (or is being handed) */
  #connecting = new Set(); /* Socks between construction and 'open' */
  #nextId = 1;
  #closed = false;

  constructor(WebSocketClass) {
    this.#WebSocket = WebSocketClass;
  }

  #sock(id) {
    const s = this.sockets.get(id);
    if (s === undefined) throw new TideError(errors.EBADF, `no WebSocket ${id} on this host`);
    return s;
  }

  #adopt(sock) {
    let id = this.#nextId;
    while (this.sockets.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    this.#nextId = id >= MAX_ID ? 1 : id + 1;
    sock.id = id;
    this.sockets.set(id, sock);
    return id;
  }

  /* An id handed out that C dropped before taking it: no longer C's. */
  #unadopt(sock) {
    if (sock.id === 0 || this.sockets.get(sock.id) !== sock) return false;
    this.sockets.delete(sock.id);
    sock.id = 0;
    return true;
  }

  connect(url, signal) {
    if (typeof url !== 'string' || url === '') {
      throw invalid(`ws_connect: bad url ${JSON.stringify(url)}`);
    }
    if (this.#closed) throw cancelled('the runtime is closed');
    let ws;
    try {
      ws = new this.#WebSocket(url);
    } catch (e) {
      /* A SyntaxError: not a ws:/wss: URL, a fragment, a forbidden port. */
      throw new TideError(errors.EINVAL, `ws_connect: ${e?.message ?? e}`, { cause: e });
    }
    const sock = new Sock(ws);
    this.#connecting.add(sock);
    return new Promise((resolve, reject) => {
      const done = () => {
        this.#connecting.delete(sock);
        sock.onOpen = null;
        sock.onFail = null;
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        sock.destroy();
        reject(signal.reason);
      };
      sock.onOpen = () => {
        done();
        if (this.#closed) {
          sock.destroy();
          reject(cancelled('the runtime is closed'));
          return;
        }
        const id = this.#adopt(sock);
        /* C dropped the answer: nobody will close this socket but us. */
        signal?.addEventListener('abort', () => {
          if (this.#unadopt(sock)) sock.destroy();
        }, { once: true });
        resolve(id);
      };
      /* A browser tells no more than "it failed" (no status, no errno). */
      sock.onFail = () => {
        done();
        reject(new TideError(errors.ECONNREFUSED, `the WebSocket connection to ${url} failed`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  send(id, bytes, binary, signal) {
    return this.#sock(id).send(bytes, binary, signal);
  }

  recv(id, max, signal) {
    if (!Number.isInteger(max) || max < 0) throw invalid(`ws_recv: bad max ${max}`);
    return this.#sock(id).recv(max, signal);
  }

  /* The id is C's no more from here on, whatever the close handshake does. */
  close(id) {
    const s = this.#sock(id);
    this.sockets.delete(id);
    return s.close();
  }

  counts() {
    return { sockets: this.sockets.size, connecting: this.#connecting.size };
  }

  /** Close everything (the runtime closed): C's sockets and connects in
   * flight. Idempotent. */
  closeAll() {
    this.#closed = true;
    for (const s of this.sockets.values()) s.destroy();
    this.sockets.clear();
    for (const s of this.#connecting) s.destroy();
    this.#connecting.clear();
  }
}

/**
 * The WebSocket host functions of one runtime.
 * @param {{WebSocket: Function}} options the engine's WebSocket class
 *   (globalThis.WebSocket), or one that behaves alike (tests pass a fake)
 * @returns {{functions: Map<string, Function>, counts: () => object, close: () => void}}
 */
export function createWebSockets({ WebSocket: WebSocketClass } = {}) {
  if (typeof WebSocketClass !== 'function') {
    throw new TypeError('tideloop: createWebSockets({WebSocket}): WebSocket must be a class');
  }
  const t = new WsTable(WebSocketClass);
  return {
    functions: new Map([
      [WS_CONNECT, (url, { signal } = {}) => t.connect(url, signal)],
      [WS_SEND, (id, bytes, binary, { signal } = {}) => t.send(id, bytes, binary, signal)],
      [WS_RECV, (id, max, { signal } = {}) => t.recv(id, max, signal)],
      [WS_CLOSE, (id) => t.close(id)],
    ]),
    counts: () => t.counts(),
    close: () => t.closeAll(),
  };
}

/** The engine's WebSocket class, or null where it has none (Node 20 without
 * --experimental-websocket). */
export function engineWebSocket() {
  const W = globalThis.WebSocket;
  return typeof W === 'function' ? W : null;
}
