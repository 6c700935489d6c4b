// check-http.mjs: ctest's check of examples/http10.c (example-http10-requests):
// start `http10 127.0.0.1 0 --count N --header-timeout 300`, then send it valid
// and malformed requests over raw sockets, one connection each, and check each
// response's status line (and body where there is one). The server must then
// exit 0 by itself, having served every connection, including the clients that
// vanished mid-request.
//
//   node check-http.mjs [EMULATOR...] PROGRAM
import { spawn } from 'node:child_process';
import net from 'node:net';

const cmd = process.argv.slice(2);
if (cmd.length === 0) {
  console.error('usage: node check-http.mjs [EMULATOR...] PROGRAM');
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error('check-http: timed out');
  process.exit(1);
}, 30000);

const long = 'x'.repeat(5000);
const headers = (n) => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('');
const manyHeaders = headers(70);
// [name, bytes to send (null: send nothing), expected status line, expected body,
//  how the client ends: 'end' (half-close after sending), 'stay' (keep open),
//  'reset' (destroy right after sending, expecting nothing)]
const cases = [
  ['get /', 'GET / HTTP/1.0\r\n\r\n', 'HTTP/1.0 200 OK', 'hello from tideloop\n', 'end'],
  ['get /echo with headers, HTTP/1.1, bare LF', 'GET /echo/abc HTTP/1.1\nHost: x\nAccept: */*\n\n',
    'HTTP/1.0 200 OK', 'abc\n', 'stay'],
  ['head', 'HEAD / HTTP/1.0\r\n\r\n', 'HTTP/1.0 200 OK', '', 'end'],
  ['unknown path', 'GET /nope HTTP/1.0\r\n\r\n', 'HTTP/1.0 404 Not Found', '', 'end'],
  ['post', 'POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n', 'HTTP/1.0 501 Not Implemented', '', 'end'],
  ['garbage line', 'hello there\r\n\r\n', 'HTTP/1.0 400 Bad Request', '', 'end'],
  ['binary junk', Buffer.from([0, 1, 2, 0xff, 0xfe, 10, 13, 10]), 'HTTP/1.0 400 Bad Request', '', 'end'],
  ['bad version', 'GET / HTTP/2.0\r\n\r\n', 'HTTP/1.0 400 Bad Request', '', 'end'],
  ['relative target', 'GET index.html HTTP/1.0\r\n\r\n', 'HTTP/1.0 400 Bad Request', '', 'end'],
  ['header without colon', 'GET / HTTP/1.0\r\nNoColonHere\r\n\r\n', 'HTTP/1.0 400 Bad Request', '', 'end'],
  ['request line too long', `GET /${long} HTTP/1.0\r\n\r\n`, 'HTTP/1.0 431 Request Header Fields Too Large', '', 'stay'],
  ['too many headers', `GET / HTTP/1.0\r\n${manyHeaders}\r\n`, 'HTTP/1.0 431 Request Header Fields Too Large', '', 'stay'],
  /* The limit is 64 header lines: 64 are served, 65 are too many. */
  ['64 headers: the most allowed', `GET / HTTP/1.0\r\n${headers(64)}\r\n`, 'HTTP/1.0 200 OK',
    'hello from tideloop\n', 'end'],
  ['65 headers: one too many', `GET / HTTP/1.0\r\n${headers(65)}\r\n`,
    'HTTP/1.0 431 Request Header Fields Too Large', '', 'stay'],
  ['slowloris', 'GET / HTTP/1.0\r\nHost: x\r\n', 'HTTP/1.0 408 Request Timeout', '', 'stay'],
  ['silent client', null, 'HTTP/1.0 408 Request Timeout', '', 'stay'],
  ['vanishes mid-request', 'GET / HTT', null, null, 'reset'],
  ['half a request, then EOF', 'GET / HTTP/1.0\r\nHo', null, null, 'end'],
  ['get / again: still serving', 'GET / HTTP/1.0\r\n\r\n', 'HTTP/1.0 200 OK', 'hello from tideloop\n', 'end'],
];

const server = spawn(cmd[0], [...cmd.slice(1), '127.0.0.1', '0', '--count', String(cases.length),
  '--header-timeout', '300'], { stdio: ['ignore', 'pipe', 'inherit'] });
const serverExit = new Promise((resolve) => server.on('close', (code) => resolve(code)));
const port = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (b) => {
    text += b;
    const m = /^listening on 127\.0\.0\.1:(\d+)\n/.exec(text);
    if (m) resolve(Number(m[1]));
  });
  server.on('close', (code) => reject(new Error(`server exited (${code}) before listening`)));
});

function exchange(data, how) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const got = [];
    sock.on('data', (b) => got.push(b));
    sock.on('error', () => {});
    sock.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
    sock.on('connect', () => {
      if (data !== null) sock.write(data);
      if (how === 'end') sock.end();
      if (how === 'reset') sock.resetAndDestroy();
    });
  });
}

let failed = 0;
for (const [name, data, status, body, how] of cases) {
  const text = await exchange(data, how);
  if (status === null) continue; // nothing to expect: the server must just survive
  const [head, ...rest] = text.split('\r\n\r\n');
  const statusLine = head.split('\r\n')[0];
  const gotBody = rest.join('\r\n\r\n');
  const length = /\r\nContent-Length: (\d+)/.exec(head);
  const ok = statusLine === status && gotBody === body && /\r\nConnection: close/.test(head) &&
    length !== null && Number(length[1]) === (status.includes(' 200 ') ? Buffer.byteLength(body || 'hello from tideloop\n') : 0);
  if (!ok) {
    console.error(`check-http: ${name}: got ${JSON.stringify(text.slice(0, 200))}`);
    failed++;
  }
}
const code = await serverExit;
if (code !== 0) {
  console.error(`check-http: server exited with ${code}`);
  failed++;
}
clearTimeout(timer);
console.log(failed === 0 ? `check-http: ${cases.length} connections answered as expected`
  : `check-http: ${failed} failures`);
process.exit(failed === 0 ? 0 : 1);
