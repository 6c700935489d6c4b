// paths.mjs: where the benchmark programs are, and how each kind is started.
// bench/build.sh builds everything into build/bench/<kind>/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BUILD = path.join(ROOT, 'build/bench');
export const PYTHON = '/usr/bin/python3'; /* Debian's, where python3-uvloop is */

/* Node 20 segfaults now and then when a process with a large wasm memory exits
 * (its concurrent GC racing the teardown; seen with a 150 MB plain WASI
 * program). --single-threaded-gc avoids it. Only the wasm runs get it: their JS
 * heap is tiny, and the JS peers, whose GC matters, run with Node's defaults. */
const WASM_NODE = ['node', '--no-warnings', '--single-threaded-gc'];

/** A native program from build/bench/native. */
export const native = (name, ...args) => [path.join(BUILD, 'native', name), ...args];

/** A WASI command under Node's WASI (the project's runner). */
export const wasi = (name, ...args) => [
  ...WASM_NODE, path.join(ROOT, 'wasm/run-wasi.mjs'), path.join(BUILD, 'wasi', `${name}.wasm`), ...args,
];

/** A tideloop module file on the JS host (the npm package's runtime). */
export const jsHostModule = (file, ...args) => [
  ...WASM_NODE, path.join(ROOT, 'bench/js/run-tideloop.mjs'), file, ...args,
];

/** A tideloop module of build/bench/js on the JS host. */
export const jsHost = (name, ...args) => jsHostModule(path.join(BUILD, 'js', `${name}.wasm`), ...args);

/** A script under bench/ that loads tideloop modules itself (js/w5-warmup.mjs),
 * run as the wasm runs are. */
export const jsHostScript = (file, ...args) => [...WASM_NODE, path.join(ROOT, 'bench', file), ...args];

/** A TIDE_MAIN program for the JS host run as a command by the npm package's
 * own runner (js/bin/tideloop-run.mjs), with the process's stdio: W6's server,
 * whose one line must come out while it runs. */
export const jsCommand = (name, ...args) => [
  ...WASM_NODE, path.join(ROOT, 'js/bin/tideloop-run.mjs'), path.join(BUILD, 'js', `${name}.wasm`), ...args,
];

/** W6: an echo server and the client against it, as one program
 * (driver/echo-pair.mjs; "{port}" in the client's argv is the server's port). */
export const echoPair = (server, client) => [
  'node', path.join(ROOT, 'bench/driver/echo-pair.mjs'), ...server, '--', ...client,
];

/** A Node peer from bench/peers or bench/js. */
export const nodePeer = (file, ...args) => ['node', path.join(ROOT, 'bench', file), ...args];

/** A Python peer on asyncio or uvloop. */
export const python = (file, loop, ...args) => [PYTHON, path.join(ROOT, 'bench/peers', file), loop, ...args];

/** An Emscripten build from build/bench/emcc. */
export const emcc = (file) => path.join(BUILD, 'emcc', file);
