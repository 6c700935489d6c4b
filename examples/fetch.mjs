// fetch.mjs: run examples/fetch.c (built as fetch.wasm for the JS host) against
// an HTTP server this script starts on 127.0.0.1: C tasks fetch its routes
// through a host function, at most 2 at a time, each with a 1 s timeout.
//
//   node examples/fetch.mjs [path/to/fetch.wasm]
//
// The module defaults to build/js/examples/fetch.wasm (bash scripts/test.sh js
// builds it). What to look for in the output:
// - "/slow" times out: C cancels the host future at its deadline, the host
//   aborts the AbortSignal http_get received, fetch() aborts the request (the
//   "js:" line), and the server sees the client go away (the "server:" line);
// - a 500 and a 404 are responses like any other; "/reset" is a network error,
//   which reaches C as a TIDE_ECONNRESET with the message thrown here;
// - the results come in URL order whatever order the requests finished in.
// Nothing leaves 127.0.0.1. Output is the same on every run (a test compares it
// with examples/fetch-expected.txt); the exit status is the C program's.

import http from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// In your own project: import { load, TideError, errorCodeOf, errors } from 'tideloop';
import { load, TideError, errorCodeOf, errors } from '../js/src/node.mjs';

const wasm = process.argv[2] ??
  fileURLToPath(new URL('../build/js/examples/fetch.wasm', import.meta.url));
if (!existsSync(wasm)) {
  console.error(`fetch.mjs: ${wasm} is missing; build it with: bash scripts/test.sh js`);
  process.exit(2);
}

/* --- The server -------------------------------------------------------------- */

/* What the host and the server saw, printed at the end: it happens in the
 * background while C runs (C prints its results when all are in). */
const log = [];
let requests = 0;
let slowAborted;
const slowAbortedSeen = new Promise((resolve) => {
  slowAborted = resolve;
});

const routes = {
  '/hello': (req, res) => reply(res, 200, 'text/plain', 'hello from node:http'),
  '/json': (req, res) => reply(res, 200, 'application/json',
    JSON.stringify({ name: 'tideloop', answer: 42 })),
  /* Answers well within the timeout. */
  '/later': (req, res) => {
    const t = setTimeout(() => reply(res, 200, 'text/plain', 'worth the wait'), 150);
    res.on('close', () => clearTimeout(t));
  },
  /* Would answer long after the client's timeout: the client gives up first. */
  '/slow': (req, res) => {
    const t = setTimeout(() => reply(res, 200, 'text/plain', 'too late'), 30_000);
    res.on('close', () => {
      clearTimeout(t);
      if (!res.writableFinished) {
        log.push('server: /slow: client aborted (the connection closed before the response)');
        slowAborted();
      }
    });
  },
  '/error': (req, res) => reply(res, 500, 'text/plain', 'internal error'),
  /* Hang up without answering: a network error for the client. */
  '/reset': (req, res) => req.socket.destroy(),
};

function reply(res, status, type, body) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  requests++;
  const route = routes[req.url] ?? ((q, r) => reply(r, 404, 'text/plain', `no route for ${q.url}`));
  route(req, res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;

/* --- The host function C calls ----------------------------------------------- */

const rt = await load(wasm, { args: ['fetch'] });

/* http_get(url) -> {status, body}. C's deadline aborts `signal`; fetch() then
 * rejects, but that outcome is dropped: C already saw TIDE_ECANCELED. A network
 * error is thrown as a TideError whose code errorCodeOf() read from the error,
 * wherever this runtime put it (Node and Deno: on e.cause; Bun: on e itself),
 * so C gets TIDE_ECONNRESET for a reset on each of them; EIO if none says. */
rt.register('http_get', async (url, { signal }) => {
  const path = new URL(url).pathname;
  signal.addEventListener('abort', () => {
    log.push(`js: http_get ${path}: C cancelled it, so fetch() was aborted`);
  });
  try {
    const res = await fetch(url, { signal });
    return { status: res.status, body: await res.text() };
  } catch (e) {
    if (signal.aborted) throw e;
    const code = errorCodeOf(e, errors.EIO);
    if (code === errors.ECONNRESET) throw new TideError(code, 'the server closed the connection');
    if (code === errors.ECONNREFUSED) throw new TideError(code, 'nothing listens there');
    throw new TideError(code, e.message);
  }
});

/* --- Run the C program ------------------------------------------------------- */

const paths = ['/hello', '/slow', '/json', '/later', '/error', '/missing', '/reset'];
const code = await rt.main(['fetch', '-j', '2', '-t', '1000', ...paths.map((p) => base + p)]);
rt.close();

/* The server learns of the abort through its socket, some time after C moved on:
 * wait for it (bounded), then shut down and print what the server saw. */
await Promise.race([slowAbortedSeen, new Promise((r) => setTimeout(r, 5000).unref())]);
server.closeAllConnections();
server.close();
for (const line of log) console.log(line);
console.log(`server: ${requests} requests`);
console.log(`exit status ${code}`);
process.exitCode = code;
