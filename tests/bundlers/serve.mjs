// serve.mjs: a static server for one folder on 127.0.0.1 (what a user's host
// does for a built dist/): .wasm as application/wasm, so load() compiles it
// while streaming, .js/.mjs as JavaScript, and 404 for anything outside it.
//
//   node tests/bundlers/serve.mjs DIR [port]   serves DIR until killed
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { resolve, sep, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Serves `dir`; resolves with {url, requests, close()}; `requests` lists the
 * paths asked for and their status, as "200 /assets/x.wasm". */
export function serve(dir, { port = 0, host = '127.0.0.1' } = {}) {
  const root = resolve(dir);
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    let file = resolve(root, '.' + path);
    let status = 200;
    try {
      if (file !== root && !file.startsWith(root + sep)) throw new Error('outside the root');
      if ((await stat(file)).isDirectory()) file = resolve(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      status = 404;
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`not found: ${path}\n`);
    }
    requests.push(`${status} ${path}`);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok({
      url: `http://${host}:${server.address().port}`,
      requests,
      close: () => new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
    }));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (!process.argv[2]) {
    console.error('usage: node tests/bundlers/serve.mjs DIR [port]');
    process.exit(2);
  }
  const { url } = await serve(process.argv[2], { port: Number(process.argv[3] ?? 0) });
  console.log(`serving ${resolve(process.argv[2])} at ${url}/`);
}
