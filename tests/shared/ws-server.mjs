// ws-server.mjs: the WebSocket echo server for the WebSocket suites
// (tests/browser/ws.test.mjs, tests/js/ws.test.mjs): the `ws` package (the
// maintained RFC 6455 server: handshake, framing, fragments, control frames,
// close handshake, protocol errors failing with 1002) on node:http's
// 'upgrade', and a few commands on top.
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
import { createRequire } from 'node:module';

/* `ws` is a dev dependency of the browser suite (tests/browser/package.json
 * and its lockfile, which scripts/test.sh installs for the Node suite too):
 * resolved from there, since this file is shared and has no package of its
 * own. */
const { WebSocketServer } = createRequire(new URL('../browser/package.json', import.meta.url))('ws');

const SLOW_MS = 5000;
const CLOSE_WAIT_MS = 2000;

/* One upgraded connection: echo, or run a command. */
function serve(ws, stats) {
  const pings = new Set();
  ws.on('error', () => {}); /* a client that breaks the protocol: ws closes it */
  ws.on('pong', (payload) => {
    const data = payload.toString();
    if (!pings.delete(data)) return; /* unsolicited pongs are allowed */
    stats.pongs++;
    ws.send(`pong ${data}`);
  });
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data[0] === 0x21 /* "!" */) command(ws, data.toString(), pings);
    else ws.send(data, { binary: isBinary });
  });
}

function command(ws, text, pings) {
  const [cmd, ...rest] = text.slice(1).split(' ');
  const arg = rest.join(' ');
  switch (cmd) {
    case 'send':
      ws.send(arg);
      break;
    case 'later': {
      const [ms, ...words] = rest;
      setTimeout(() => {
        if (ws.readyState === ws.OPEN) ws.send(words.join(' '));
      }, Number(ms));
      break;
    }
    case 'big':
      ws.send('x'.repeat(Number(arg)));
      break;
    case 'close': {
      const [code, ...why] = rest;
      ws.close(Number(code), why.join(' '));
      /* ws would wait 30 s for the client's answer: the tests want 2. */
      setTimeout(() => ws.terminate(), CLOSE_WAIT_MS).unref();
      break;
    }
    case 'drop':
      ws.terminate(); /* destroys the socket: no close frame */
      break;
    case 'ping':
      pings.add(arg);
      ws.ping(arg);
      break;
    default:
      ws.send(`unknown command ${cmd}`);
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
  /* No extensions: what C receives is what the server sent, frame for frame. */
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
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
    socket.on('error', () => {});
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/reject') {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const answer = () => {
      if (socket.destroyed) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        stats.opened++;
        serve(ws, stats);
      });
    };
    if (path === '/slow') {
      const timer = setTimeout(answer, SLOW_MS);
      socket.on('close', () => clearTimeout(timer));
    } else {
      answer();
    }
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
          wss.close();
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
