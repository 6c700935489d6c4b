// server.mjs: the browser suite's (and the demo's) static server: node:http on
// 127.0.0.1, port 0 by default. Serves, read-only:
//   /js/...                the npm package (its browser entry: /js/src/index.mjs)
//   /tests/..., /examples/... test pages, shared scenario bodies, the demo
//   /build/...             the JS build tree (TIDE_JS_BUILD, default build/js):
//                          /build/tests/modules/tide-test-module.wasm, /build/examples/*.wasm
//   /api/slow?ms=N&id=X    answers "X after N ms" after N ms (the demo's fetches)
//   /api/stats             {inFlight, served} of /api/slow
// .wasm goes out as application/wasm (streaming compile), .mjs as text/javascript.
//
//   node tests/browser/server.mjs [port]   serves until killed, prints its URL
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { resolve, sep, extname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BUILD = resolve(process.env.TIDE_JS_BUILD ?? resolve(ROOT, 'build/js'));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.txt': 'text/plain; charset=utf-8',
};

const MOUNTS = [
  ['/build/', BUILD],
  ['/js/', resolve(ROOT, 'js')],
  ['/tests/', resolve(ROOT, 'tests')],
  ['/examples/', resolve(ROOT, 'examples')],
];

function mapPath(pathname) {
  for (const [prefix, dir] of MOUNTS) {
    if (!pathname.startsWith(prefix)) continue;
    const file = resolve(dir, '.' + decodeURIComponent(pathname.slice(prefix.length - 1)));
    if (file !== dir && !file.startsWith(dir + sep)) return null; /* ../ escapes */
    if (file.includes(`${sep}node_modules${sep}`)) return null;
    return file;
  }
  return null;
}

/** Start the server; resolves with {url, close(), stats}. */
export function startServer({ port = 0, host = '127.0.0.1' } = {}) {
  const stats = { inFlight: 0, served: 0 };
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    res.setHeader('Cache-Control', 'no-store');
    if (url.pathname === '/api/slow') {
      const ms = Math.min(Number(url.searchParams.get('ms')) || 0, 30_000);
      const id = url.searchParams.get('id') ?? '';
      stats.inFlight++;
      const timer = setTimeout(() => {
        stats.inFlight--;
        stats.served++;
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(`${id} after ${ms} ms`);
      }, ms);
      res.on('close', () => {
        if (!res.writableEnded) {
          clearTimeout(timer);
          stats.inFlight--;
        }
      });
      return;
    }
    if (url.pathname === '/api/stats') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(stats));
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(302, { Location: '/examples/browser/index.html' });
      res.end();
      return;
    }
    let file = mapPath(url.pathname);
    try {
      if (file === null) throw new Error('outside the served tree');
      if ((await stat(file)).isDirectory()) file = resolve(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end(`not found: ${url.pathname}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      ok({
        url: `http://${host}:${p}`,
        stats,
        close: () => new Promise((r) => {
          server.closeAllConnections?.();
          server.close(() => r());
        }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 0);
  let url;
  try {
    ({ url } = await startServer({ port }));
  } catch (e) {
    if (e?.code !== 'EADDRINUSE' && e?.code !== 'EACCES') throw e;
    /* A user's mistake, not a bug: say what to change, without a stack. */
    console.error(`tideloop browser demo: port ${port} on 127.0.0.1 is ` +
      `${e.code === 'EADDRINUSE' ? 'taken by another program' : 'not allowed'}. ` +
      'Pick another with TIDE_DEMO_PORT (npm run demo:browser; 0: any free port), ' +
      'or as the argument: node tests/browser/server.mjs <port>');
    process.exit(1);
  }
  console.log(`tideloop browser demo: ${url}/examples/browser/index.html`);
  console.log(`(serving js/, tests/, examples/ and ${BUILD} as /build/; Ctrl-C stops)`);
}
