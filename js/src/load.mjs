// load.mjs: loading, what load() does before a runtime exists. It compiles a
// module from any source the entry points accept (bytes, a WebAssembly.Module, a
// fetch Response, a URL, or what the adapter resolves: a file path under Node),
// checks the options once, up front, and makes the runtime (runtime.mjs
// makeRuntime: link, instantiate, initialise, make the loop). The entry points
// (index.mjs, node.mjs) call loadWith() with their adapter.

import { isInputSource } from './stdio.mjs';
import { makeRuntime } from './runtime.mjs';

async function compileResponse(res) {
  if (!res.ok) {
    throw new Error(`tideloop: fetching ${res.url || 'the module'} failed: HTTP ${res.status}`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (typeof WebAssembly.compileStreaming === 'function' && type.startsWith('application/wasm')) {
    return WebAssembly.compileStreaming(res);
  }
  return WebAssembly.compile(await res.arrayBuffer());
}

/**
 * A compiled module from any supported source: bytes, a WebAssembly.Module, a
 * fetch Response, a URL (fetched), or what the adapter knows (a file path), or a
 * promise of one of those. `signal` goes to whatever reads the source (fetch(),
 * the adapter's file read).
 */
export async function compileSource(source, adapter, signal) {
  source = await source;
  if (source instanceof WebAssembly.Module) return source;
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
    return WebAssembly.compile(source);
  }
  /* Strings and URLs before any look at Response: under Node, the first read
   * of the global Response loads all of undici (50-130 ms), which a module
   * read from a file never needs. */
  if (typeof source === 'string' || source instanceof URL) {
    if (adapter.resolveSource) {
      const resolved = await adapter.resolveSource(source, signal);
      if (resolved !== undefined) return compileSource(resolved, adapter, signal);
    }
    return compileResponse(await fetch(source, { signal }));
  }
  if (typeof Response === 'function' && source instanceof Response) {
    return compileResponse(source);
  }
  throw new TypeError(
    'tideloop: load() takes bytes, a URL, a fetch Response or a WebAssembly.Module' +
      (adapter.resolveSource ? ', or a file path' : ''),
  );
}

/* options.clock -> tide_clock_mode (tide.h, "Virtual time"). */
const CLOCKS = new Map([['real', 0], ['virtual', 1], ['autojump', 2]]);

/* p, or signal.reason as soon as signal aborts, whichever comes first. What p
 * stands for goes on: onLate(value) gets its value if it comes after the abort
 * (to free it). */
function raceAbort(p, signal, onLate) {
  if (!signal) return p;
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    p.then((value) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) onLate?.(value);
      else resolve(value);
    }, (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(signal.aborted ? signal.reason : e);
    });
  });
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('tideloop: options must be an object');
  }
  const { stdout, stderr, stdin, args, env, clock, signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError('tideloop: options.signal must be an AbortSignal');
  }
  for (const [k, v] of [['stdout', stdout], ['stderr', stderr]]) {
    if (v !== undefined && typeof v !== 'function') {
      throw new TypeError(`tideloop: options.${k} must be a function (one line per call)`);
    }
  }
  if (!isInputSource(stdin)) {
    throw new TypeError('tideloop: options.stdin must be a string, bytes, a function ' +
      '(max, {signal}) => bytes, or an (async) iterable of chunks');
  }
  if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
    throw new TypeError('tideloop: options.args must be an array of strings');
  }
  let envList = [];
  if (Array.isArray(env)) envList = env.map(String);
  else if (env !== undefined && env !== null) {
    if (typeof env !== 'object') throw new TypeError('tideloop: options.env must be an object');
    envList = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  }
  if (clock !== undefined && !CLOCKS.has(clock)) {
    throw new TypeError("tideloop: options.clock must be 'real', 'virtual' or 'autojump'");
  }
  return { stdout, stderr, stdin, args: args ?? ['tideloop'], env: envList,
    clock: CLOCKS.get(clock ?? 'real'), signal };
}

/**
 * Load a module and make a runtime for it: compile, link, call _initialize, make
 * the loop. The engine-specific part comes from `adapter` (see index.mjs).
 * Aborting options.signal rejects with its reason (as fetch() does) at once;
 * a runtime made after that is closed.
 */
export async function loadWith(source, options, adapter) {
  const opts = checkOptions(options ?? {});
  const { signal } = opts;
  if (signal?.aborted) throw signal.reason;
  const module = await raceAbort(compileSource(source, adapter, signal), signal);
  if (signal?.aborted) throw signal.reason;
  return raceAbort(makeRuntime(module, adapter, opts), signal, (rt) => rt.close());
}
