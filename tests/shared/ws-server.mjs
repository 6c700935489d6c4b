// ws-server.mjs: a small WebSocket echo server for the WebSocket suites
// (tests/browser/ws.test.mjs, tests/js/ws.test.mjs), on node:http's 'upgrade'
// with no dependency: the RFC 6455 handshake and framing, minimal but correct
// for what a browser sends (masked frames, 7/16/64-bit lengths, fragments,
// text, binary, close, ping, pong). Anything else fails the connection with
// close code 1002 (protocol error), as the RFC asks.
//
// Every data message is echoed back with its kind, except text messages that
// start with "!", which are commands, so a C program under test can steer the
// peer through the same socket:
//   !send TEXT          send TEXT as a text message
//   !later MS TEXT      send TEXT after MS milliseconds
//   !big N              send a text message of N "x"
//   !close CODE [WHY]   start the closing handshake with CODE (then end TCP
//                       once the client answers, or after 2 s)
//   !drop               destroy the TCP connection: no close frame
//   !ping DATA          send a ping with DATA; the pong that answers it is
//                       counted and reported as the text "pong DATA"
// A handshake to the path /reject is refused (HTTP 403), to /slow answered
// only after 5 s (for cancelled connects). GET /stats (CORS open) says
// {open, opened, pongs}: WebSocket connections whose TCP socket is open
// (handshakes still waiting included), upgraded in all, and pongs received.
import { createServer } from 'node:http';
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OP_CONT = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;
const OP_CLOSE = 0x8;
const OP_PING = 0x9;
const OP_PONG = 0xa;
const SLOW_MS = 5000;
const CLOSE_WAIT_MS = 2000;

/** One frame, unmasked (a server never masks: RFC 6455 5.1). */
export function encodeFrame(opcode, payload = Buffer.alloc(0), fin = true) {
  const n = payload.length;
  let head;
  if (n < 126) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, n]);
  } else if (n < 65536) {
    head = Buffer.alloc(4);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, payload]);
}

function closePayload(code, reason = '') {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/* One upgraded connection: parses the client's frames as they arrive. */
class Conn {
  #buf = Buffer.alloc(0);
  #fragments = null; /* {opcode, parts} while a fragmented message arrives */
  #closing = false; /* we sent a close frame */
  #pings = new Set();

  constructor(socket, stats, head) {
    this.socket = socket;
    this.stats = stats;
    socket.setNoDelay(true);
    socket.on('data', (d) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#parse();
    });
    /* Bytes that came with the request head belong to the frames. */
    if (head?.length) {
      this.#buf = Buffer.from(head);
      this.#parse();
    }
  }

  send(opcode, payload) {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(encodeFrame(opcode, payload));
  }

  #fail(code, why) {
    this.send(OP_CLOSE, closePayload(code, why));
    this.socket.end();
    this.#buf = Buffer.alloc(0);
  }

  #parse() {
    for (;;) {
      const b = this.#buf;
      if (b.length < 2) return;
      const fin = (b[0] & 0x80) !== 0;
      const rsv = b[0] & 0x70;
      const opcode = b[0] & 0x0f;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        const big = b.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) return this.#fail(1009, 'too big');
        len = Number(big);
        off = 10;
      }
      /* A client masks every frame (RFC 6455 5.3); no extension was agreed,
       * so the RSV bits are 0. */
      if (!masked || rsv !== 0) return this.#fail(1002, 'protocol error');
      if (b.length < off + 4 + len) return;
      const mask = b.subarray(off, off + 4);
      const payload = Buffer.alloc(len);
      for (let i = 0; i < len; i++) payload[i] = b[off + 4 + i] ^ mask[i & 3];
      this.#buf = b.subarray(off + 4 + len);
      this.#frame(fin, opcode, payload);
      if (this.socket.destroyed) return;
    }
  }

  #frame(fin, opcode, payload) {
    if (opcode >= 0x8) {
      /* Control frames: not fragmented, at most 125 bytes (5.5). */
      if (!fin || payload.length > 125) return this.#fail(1002, 'bad control frame');
      if (opcode === OP_CLOSE) return this.#onClose(payload);
      if (opcode === OP_PING) return this.send(OP_PONG, payload);
      if (opcode === OP_PONG) return this.#onPong(payload);
      return this.#fail(1002, 'unknown opcode');
    }
    if (opcode === OP_CONT) {
      if (this.#fragments === null) return this.#fail(1002, 'continuation of nothing');
      this.#fragments.parts.push(payload);
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.#fragments !== null) return this.#fail(1002, 'new message inside a fragmented one');
      this.#fragments = { opcode, parts: [payload] };
    } else {
      return this.#fail(1002, 'unknown opcode');
    }
    if (!fin) return undefined;
    const { opcode: op, parts } = this.#fragments;
    this.#fragments = null;
    return this.#message(op, parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  #onClose(payload) {
    if (this.#closing) {
      this.socket.end(); /* our close was answered: the handshake is done */
      return;
    }
    /* The client closes: answer with its code (5.5.1), then end TCP. */
    this.#closing = true;
    const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
    this.send(OP_CLOSE, code === null ? Buffer.alloc(0) : closePayload(code));
    this.socket.end();
  }

  #onPong(payload) {
    const data = payload.toString();
    if (!this.#pings.delete(data)) return; /* unsolicited pongs are allowed */
    this.stats.pongs++;
    this.send(OP_TEXT, Buffer.from(`pong ${data}`));
  }

  #message(opcode, data) {
    if (opcode === OP_TEXT && data[0] === 0x21 /* "!" */) return this.#command(data.toString());
    this.send(opcode, data);
    return undefined;
  }

  #command(text) {
    const [cmd, ...rest] = text.slice(1).split(' ');
    const arg = rest.join(' ');
    switch (cmd) {
      case 'send':
        this.send(OP_TEXT, Buffer.from(arg));
        break;
      case 'later': {
        const [ms, ...words] = rest;
        setTimeout(() => this.send(OP_TEXT, Buffer.from(words.join(' '))), Number(ms));
        break;
      }
      case 'big':
        this.send(OP_TEXT, Buffer.alloc(Number(arg), 'x'));
        break;
      case 'close': {
        const [code, ...why] = rest;
        this.#closing = true;
        this.send(OP_CLOSE, closePayload(Number(code), why.join(' ')));
        setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS).unref();
        break;
      }
      case 'drop':
        this.socket.destroy();
        break;
      case 'ping':
        this.#pings.add(arg);
        this.send(OP_PING, Buffer.from(arg));
        break;
      default:
        this.send(OP_TEXT, Buffer.from(`unknown command ${cmd}`));
    }
    return undefined;
  }
}

/* The opening handshake (RFC 6455 4.2): a GET with Upgrade: websocket,
 * version 13 and a key; the answer's accept is base64(SHA-1(key + GUID)). */
function handshake(req, socket, head, stats) {
  const key = req.headers['sec-websocket-key'];
  const upgrade = (req.headers.upgrade ?? '').toLowerCase();
  const path = new URL(req.url, 'http://x').pathname;
  socket.on('error', () => {});
  if (req.method !== 'GET' || upgrade !== 'websocket' || typeof key !== 'string' ||
      req.headers['sec-websocket-version'] !== '13' || path === '/reject') {
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const answer = () => {
    if (socket.destroyed) return;
    socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
      `Connection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    stats.opened++;
    new Conn(socket, stats, head); // eslint-disable-line no-new
  };
  if (path === '/slow') {
    const timer = setTimeout(answer, SLOW_MS);
    socket.on('close', () => clearTimeout(timer));
  } else {
    answer();
  }
}

/**
 * Start the server on host, port 0: resolves with {url (ws://host:port/),
 * http (http://host:port), port, stats, close()}.
 */
export function startWsServer({ host = '127.0.0.1' } = {}) {
  const stats = { open: 0, opened: 0, pongs: 0 };
  const server = createServer((req, res) => {
    if (new URL(req.url, 'http://x').pathname === '/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*',
        'Cache-Control': 'no-store' });
      res.end(JSON.stringify(stats));
      return;
    }
    res.writeHead(404);
    res.end();
  });
  /* Upgraded sockets leave the HTTP server: they are kept here, to be counted
   * and destroyed by close(). Counted from the upgrade request, so a handshake
   * still waiting (/slow) counts too: a cancelled connect must close it. */
  const sockets = new Set();
  server.on('upgrade', (req, socket, head) => {
    sockets.add(socket);
    stats.open++;
    socket.on('close', () => {
      sockets.delete(socket);
      stats.open--;
    });
    handshake(req, socket, head, stats);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address();
      resolve({
        url: `ws://${host}:${port}/`,
        http: `http://${host}:${port}`,
        port,
        stats,
        close: () => new Promise((r) => {
          for (const s of sockets) s.destroy();
          server.closeAllConnections?.();
          server.close(() => r());
        }),
      });
    });
  });
}

/** A port on host where nothing listens (bound, then closed again). */
export function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
