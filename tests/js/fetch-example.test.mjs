// fetch-example.test.mjs: examples/fetch.mjs runs examples/fetch.c (fetch.wasm
// of the JS build) against the HTTP server it starts on 127.0.0.1. Its stdout
// must equal examples/fetch-expected.txt byte for byte: every result in URL
// order, the timed-out request aborted in JS and seen aborted by the server.
// The exit status is the C program's: 1, as one request times out and one
// fails on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FETCH_EXPECTED, requireExampleWasm, runFetchExample } from './examples.mjs';

test('examples/fetch.mjs prints examples/fetch-expected.txt and exits 1', async () => {
  const { code, stdout, stderr } = await runFetchExample(requireExampleWasm('fetch.wasm'));
  assert.equal(stdout, FETCH_EXPECTED, `stderr:\n${stderr}`);
  assert.equal(stderr, '');
  assert.equal(code, 1);
});

test('the expected output shows the timeout reaching JS and the server', () => {
  /* Guards the expected file itself: regenerating it from a broken run must not
   * silently drop what the example is there to show. */
  assert.match(FETCH_EXPECTED, /^\/slow +timed out after 1000 ms$/m);
  assert.match(FETCH_EXPECTED, /^js: http_get \/slow: C cancelled it, so fetch\(\) was aborted$/m);
  assert.match(FETCH_EXPECTED, /^server: \/slow: client aborted/m);
  assert.match(FETCH_EXPECTED, /^\/error +500,/m);
  assert.match(FETCH_EXPECTED, /^\/reset +failed: ECONNRESET: /m);
  assert.match(FETCH_EXPECTED, /at most 2 requests were in flight$/m);
});

test('rt.close() mid-flight: fetch() is aborted, the C program finishes, the loop closes', async () => {
  /* close() cancels the host calls in flight (their signals abort); fetch.c
   * records them, and the URL no worker got to, as cancelled, and ends: the
   * loop then closes with nothing left registered. */
  const { load } = await import('../../js/src/node.mjs');
  const http = await import('node:http');
  const arrived = [];
  const closed = [];
  const server = http.createServer((req, res) => {
    arrived.push(req.url);
    res.on('close', () => closed.push(req.url)); /* never answers */
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  try {
    const out = [];
    const rt = await load(requireExampleWasm('fetch.wasm'), {
      stdout: (l) => out.push(l), stderr: (l) => out.push(`stderr: ${l}`),
    });
    const aborted = [];
    rt.register('http_get', async (url, { signal }) => {
      signal.addEventListener('abort', () => aborted.push(new URL(url).pathname));
      const res = await fetch(url, { signal });
      return { status: res.status, body: await res.text() };
    });
    const main = rt.main(['fetch', '-j', '2', '-t', '60000', `${base}/a`, `${base}/b`, `${base}/c`]);
    const settled = main.then(() => 'resolved', (e) => e.code);
    for (let i = 0; i < 500 && arrived.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(arrived.sort(), ['/a', '/b'], 'two requests in flight, the third waits');
    assert.equal(rt.close(), 0, 'every task finished and the loop closed');
    assert.equal(await settled, 'ECANCELED');
    assert.deepEqual(aborted.sort(), ['/a', '/b']);
    for (let i = 0; i < 500 && closed.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closed.sort(), ['/a', '/b'], 'the server saw both clients leave');
    assert.deepEqual(out, [
      'fetching 3 URLs, at most 2 at a time, 60000 ms timeout each',
      '/a       failed: ECANCELED: operation canceled',
      '/b       failed: ECANCELED: operation canceled',
      '/c       failed: ECANCELED: operation canceled',
      '0 of 3 got a response, 3 failed; at most 2 requests were in flight',
    ]);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});
