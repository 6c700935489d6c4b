// node.mjs: the package's entry under Node (the "node" export condition), and
// the only file of the package that uses node: APIs. Same API as index.mjs;
// what differs is the adapter:
// - ticks run from setImmediate (a macrotask after Node's I/O phase; a
//   MessageChannel would keep the process alive while open);
// - the loop's one host timer is ref'd iff the C loop has referenced work, so
//   the process stays alive exactly as long as the C program would natively;
// - output goes to process.stdout / process.stderr;
// - load() also takes a file path or a file: URL.

import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import process from 'node:process';
import { loadWith } from './host.mjs';

export { TideError, TideExit, errors, errorTable, errorName, strerror } from './errors.mjs';
export { Runtime } from './host.mjs';

/* "http:", "https:", "data:", "blob:", "file:" and the like; not "C:" (a
 * Windows drive letter is one character). */
const URL_SCHEME = /^[a-z][a-z0-9+.-]+:/i;

const nodeAdapter = {
  queueTick: (fn) => {
    setImmediate(fn);
  },
  setTimer(fn, ms, ref) {
    const h = setTimeout(fn, ms);
    if (!ref) h.unref();
    return h;
  },
  clearTimer: (h) => clearTimeout(h),
  refTimer(h, ref) {
    if (ref) h.ref();
    else h.unref();
  },
  stdout: (line) => {
    process.stdout.write(`${line}\n`);
  },
  stderr: (line) => {
    process.stderr.write(`${line}\n`);
  },
  /* File paths and file: URLs are read from disk; other URLs are fetched by the
   * host. Returns undefined for what it does not handle. */
  async resolveSource(source) {
    if (source instanceof URL) {
      return source.protocol === 'file:' ? readFile(fileURLToPath(source)) : undefined;
    }
    if (typeof source === 'string') {
      if (source.startsWith('file:')) return readFile(fileURLToPath(source));
      if (!URL_SCHEME.test(source)) return readFile(source);
    }
    return undefined;
  },
};

/**
 * Load a tideloop module: a file path, a URL (file: read from disk, others
 * fetched), bytes, a fetch Response, a WebAssembly.Module, or a promise of one.
 * @param {*} source
 * @param {{stdout?: (line: string) => void, stderr?: (line: string) => void,
 *          args?: string[], env?: Record<string, string> | string[]}} [options]
 */
export function load(source, options = {}) {
  return loadWith(source, options, nodeAdapter);
}
