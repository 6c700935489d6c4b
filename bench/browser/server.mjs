// server.mjs: the browser benchmarks' static server, node:http on 127.0.0.1
// (port 0: any free one). Read-only, and only these trees:
//   /js/            the npm package (its browser entry /js/src/index.mjs)
//   /examples/      examples/browser/variants.mjs (the workloads) and the demo
//   /bench/browser/ the benchmark page (never node_modules/)
//   /build/bench/   build/bench/: js/*.wasm (tideloop), browser/ (JSPI, ASYNCIFY), emcc/
//   /build/         build/js/, as the demo's server serves it
// Every response is cross-origin isolated (COOP same-origin, COEP require-corp):
// performance.now() is then as fine as each engine allows (Chromium 5 us,
// Firefox 20 us, instead of 100 us and 1 ms) and nothing else changes.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};
/* Longest prefix first. */
const MOUNTS = [
  ['/build/bench/', 'build/bench'],
  ['/build/', 'build/js'],
  ['/bench/browser/', 'bench/browser'],
  ['/examples/', 'examples'],
  ['/js/', 'js'],
].map(([prefix, dir]) => [prefix, resolve(ROOT, dir)]);

function fileFor(pathname) {
  const mount = MOUNTS.find(([prefix]) => pathname.startsWith(prefix));
  if (!mount) return null;
  const [prefix, dir] = mount;
  const file = resolve(dir, `.${decodeURIComponent(pathname.slice(prefix.length - 1))}`);
  if (!file.startsWith(dir + sep) || file.includes(`${sep}node_modules${sep}`)) return null;
  return file;
}

/** Start serving; resolves with {url, close()}. */
export function startServer({ port = 0 } = {}) {
  const server = createServer(async (req, res) => {
    const headers = {
      'Cache-Control': 'no-store',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
    };
    const file = fileFor(new URL(req.url, 'http://x').pathname);
    try {
      if (file === null) throw new Error('not served');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end(`not found: ${req.url}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      ok({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await startServer({ port: Number(process.argv[2] ?? 0) });
  console.log(`tideloop browser benchmarks: ${url}/bench/browser/page.html`);
}
