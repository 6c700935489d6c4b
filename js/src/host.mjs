// host.mjs: the engine-neutral JS host of a tideloop wasm module (wasm/ABI.md).
//
// It instantiates a module with the `tideloop` imports and a small WASI subset,
// owns one C loop per runtime, bridges host functions (JS called from C) and
// exported coroutines (C called from JS) to Promises, and drives the loop without
// ever blocking: one tick at a time, then one host timer for the next deadline.
// Only standard JS and Web APIs are used here; everything that differs between
// engines (how a macrotask is queued, timer keep-alive, default output, reading
// a file path, host functions only some engines can provide: Node's sockets)
// comes from an adapter: index.mjs (browsers and any standard engine) or
// node.mjs (Node).
//
// Rules that keep the two sides consistent:
// - No view of wasm memory is kept across an await or a call into wasm (memory
//   growth detaches it): every access takes a fresh view, copies, and drops it.
// - Nothing calls into wasm from inside an import. Work an import triggers
//   (starting a host function, aborting a signal) is queued and run once the
//   outermost export call has returned (#enter / #drain).
// - Every host operation completes exactly once: #settle() marks it, and a
//   completion for an operation C cancelled is dropped, never delivered.

import {
  TideError,
  TideExit,
  errors,
  errorName,
  codeOfThrown,
  messageOfThrown,
} from './errors.mjs';
import {
  encodeList,
  decodeList,
  utf8,
  fromUtf8,
  TAG_NONE,
  TAG_NUMBER,
  TAG_STRING,
  TAG_BYTES,
} from './values.mjs';
import { LineBuffer, wasiImports, wasiUnsupported } from './wasi.mjs';
import { inputSource, isInputSource, stdioFunctions } from './stdio.mjs';

/** The exports every tideloop module has (wasm/exports.txt). */
export const REQUIRED_EXPORTS = Object.freeze([
  'memory',
  'tide_js_loop_new',
  'tide_js_loop_free',
  'tide_js_tick',
  'tide_js_next_timeout',
  'tide_js_has_ref',
  'tide_js_alloc',
  'tide_js_free',
  'tide_js_complete',
  'tide_js_call',
  'tide_js_cancel',
  'tide_js_main',
  'tide_js_exit_code',
]);

const TIDELOOP_IMPORTS = new Set([
  'now_ms',
  'schedule',
  'report',
  'host_call',
  'host_cancel',
  'call_done',
]);

/* Imports outside `tideloop` and WASI that a module may have and that need no
 * behaviour: emcc's standalone modules announce memory growth through this one. */
const HARMLESS_IMPORTS = new Map([
  ['env.emscripten_notify_memory_growth', () => {}],
]);

/* How many synchronous ticks close() runs, at most, to let cancelled tasks finish
 * before it frees the loop. */
const CLOSE_TICKS = 64;

/* How long, at most, ticks may run from microtasks before the host lets the
 * engine's event loop have a turn (see #kick): a window of this many ms opens
 * only after a macrotask of the host's own ran, and while it is open a
 * completion or a call is handled in a microtask right away, not a macrotask
 * later. Timers, I/O and rendering then wait at most this long (plus the tick
 * that started last, and what host functions themselves do) for their turn.
 * 1 ms: in Chromium a C <-> JS ping-pong left nested setTimeout(0)s 157 turns
 * a second with 1 ms, 120 with 2 ms, 102 with 4 ms (220 with a macrotask per
 * tick), at 60 frames a second and the same round trips either way. */
const INLINE_MS = 1;

const INTERNAL = Symbol('tideloop.internal');
const disposeSymbol = Symbol.dispose ?? Symbol.for('Symbol.dispose');

/* An error a caller cannot be handed (it happened in a macrotask): report it the
 * way the engine reports an uncaught error, without unwinding our own code. */
function reportUncaught(e) {
  queueMicrotask(() => {
    throw e;
  });
}

/* True for what leaves a wasm instance in an unknown state when it unwinds
 * through wasm frames: exit() (TideExit), a trap, a wasm stack overflow
 * (RangeError). Errors our own JS throws around a call (TypeError, TideError)
 * leave the instance intact. */
function unwound(e) {
  return e instanceof TideExit || e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
}

function isPromiseLike(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') &&
    typeof v.then === 'function';
}

/* The microtask a tick runs from (#kick). Not queueMicrotask: Node wraps each
 * of those in an async resource, which costs more than the rest of a hop. */
const RESOLVED = Promise.resolve();

/* --- The per-round-trip fast paths ---------------------------------------------
 * A host call is a few hundred ns of work; values.mjs's general encoder and
 * decoder (a DataView, an array per item, a copy) cost as much again, so the
 * values that most host calls pass (numbers, none; bytes and strings as results)
 * are read and written here directly, and everything else goes to values.mjs.
 * The wire format is the same (wasm/ABI.md "Values on the wire"). */

/* f64s are little-endian on the wire (as in wasm memory); a scratch
 * Float64Array converts them where the engine is little-endian (every engine
 * that runs wasm today), a DataView elsewhere. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function getF64(u8, at) {
  if (!LITTLE_ENDIAN) return new DataView(u8.buffer, u8.byteOffset, u8.byteLength).getFloat64(at, true);
  for (let i = 0; i < 8; i++) F64_BYTES[i] = u8[at + i];
  return F64[0];
}

function setF64(u8, at, v) {
  if (!LITTLE_ENDIAN) {
    new DataView(u8.buffer, u8.byteOffset, u8.byteLength).setFloat64(at, v, true);
    return;
  }
  F64[0] = v;
  for (let i = 0; i < 8; i++) u8[at + i] = F64_BYTES[i];
}

function setU32(u8, at, v) {
  u8[at] = v & 0xff;
  u8[at + 1] = (v >>> 8) & 0xff;
  u8[at + 2] = (v >>> 16) & 0xff;
  u8[at + 3] = v >>> 24;
}

/* decodeList of the list at u8[start, end) (u8: a view of wasm memory, read
 * now: decodeList copies what it keeps), with lists of numbers and nones
 * decoded here. The same answers and errors as decodeList. */
function decodeArgs(u8, start, end) {
  const out = [];
  let at = start;
  while (at < end) {
    const tag = u8[at];
    if (tag === TAG_NUMBER && end - at >= 9) {
      out.push(getF64(u8, at + 1));
      at += 9;
    } else if (tag === TAG_NONE) {
      out.push(undefined);
      at += 1;
    } else {
      return decodeList(u8.subarray(start, end));
    }
  }
  return out;
}

/* encodeList of arguments for an exported coroutine, with lists of numbers
 * encoded here. */
function encodeArgs(args) {
  for (let i = 0; i < args.length; i++) if (typeof args[i] !== 'number') return encodeList(args);
  const out = new Uint8Array(9 * args.length);
  for (let i = 0; i < args.length; i++) {
    out[9 * i] = TAG_NUMBER;
    setF64(out, 9 * i + 1, args[i]);
  }
  return out;
}

/* Host functions' names C passed, decoded, looked up by their bytes (C
 * passes the same few names again and again; TextDecoder costs more than the
 * comparison). At most NAME_CACHE names of at most NAME_CACHE_LEN bytes. */
const NAME_CACHE = 32;
const NAME_CACHE_LEN = 64;

/* A host operation C started (#ops). */
class HostOp {
  constructor(op) {
    this.op = op;
    this.name = '';
    this.args = null;
    this.controller = null; /* made on the first read of `signal` */
    this.aborted = false;
    this.settled = false;
  }
}

/* The last argument a host function gets: `{signal}`. The AbortController is
 * made only if the function reads `signal`: making one costs microseconds in
 * V8, and most synchronous functions never look at it. A read after C
 * cancelled the operation gets an already aborted signal. A class, not an
 * object literal with a getter: V8 builds such a literal on a slow path that
 * costs more than the rest of a host call. `signal` is an (enumerable)
 * accessor of the prototype. */
class HostCallOptions {
  #rec;
  constructor(rec) {
    this.#rec = rec;
  }

  get signal() {
    const rec = this.#rec;
    if (rec.controller === null) {
      rec.controller = new AbortController();
      if (rec.aborted) rec.controller.abort();
    }
    return rec.controller.signal;
  }
}
Object.defineProperty(HostCallOptions.prototype, 'signal', { enumerable: true });

/* A completion waiting for the next tick (#completions): the operation's
 * record and what goes to tide_js_complete. `tag` is TAG_NUMBER (`num`),
 * TAG_NONE, TAG_BYTES or TAG_STRING (`bytes` is the payload, copied), or -1:
 * `bytes` is all of it (an encoded value list, or with code < 0 the message). */
class Completion {
  constructor(rec, code, tag, num, bytes) {
    this.rec = rec;
    this.code = code;
    this.tag = tag;
    this.num = num;
    this.bytes = bytes;
  }

  get size() {
    switch (this.tag) {
      case TAG_NUMBER:
        return 9;
      case TAG_NONE:
        return 1;
      case -1:
        return this.bytes.length;
      default:
        return 5 + this.bytes.length;
    }
  }

  /* Write it to u8 (size() bytes). */
  writeTo(u8) {
    const tag = this.tag;
    if (tag === -1) {
      u8.set(this.bytes);
      return;
    }
    u8[0] = tag;
    if (tag === TAG_NUMBER) setF64(u8, 1, this.num);
    else if (tag !== TAG_NONE) {
      setU32(u8, 1, this.bytes.length);
      u8.set(this.bytes, 5);
    }
  }
}

/* --- Loading ------------------------------------------------------------------ */

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
 * promise of one of those.
 */
export async function compileSource(source, adapter) {
  source = await source;
  if (source instanceof WebAssembly.Module) return source;
  if (ArrayBuffer.isView(source) || source instanceof ArrayBuffer) {
    return WebAssembly.compile(source);
  }
  if (typeof Response === 'function' && source instanceof Response) {
    return compileResponse(source);
  }
  if (adapter.resolveSource) {
    const resolved = await adapter.resolveSource(source);
    if (resolved !== undefined) return compileSource(resolved, adapter);
  }
  if (typeof source === 'string' || source instanceof URL) {
    return compileResponse(await fetch(source));
  }
  throw new TypeError(
    'tideloop: load() takes bytes, a URL, a fetch Response or a WebAssembly.Module' +
      (adapter.resolveSource ? ', or a file path' : ''),
  );
}

function checkOptions(options) {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('tideloop: options must be an object');
  }
  const { stdout, stderr, stdin, args, env } = options;
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
  return { stdout, stderr, stdin, args: args ?? ['tideloop'], env: envList };
}

/**
 * Load a module and make a runtime for it: compile, link, call _initialize, make
 * the loop. The engine-specific part comes from `adapter` (see index.mjs).
 */
export async function loadWith(source, options, adapter) {
  const opts = checkOptions(options ?? {});
  const module = await compileSource(source, adapter);
  const rt = new Runtime(INTERNAL, adapter, opts);
  await rt[INTERNAL](module);
  return rt;
}

/* --- The runtime -------------------------------------------------------------- */

/**
 * One instance of a tideloop module and the one loop it runs. Made by load().
 */
export class Runtime {
  /* The adapter: queueTick, setTimer/clearTimer/refTimer, stdout/stderr. */
  #a;
  #exports = null;
  #loop = 0; /* the C loop pointer (u32); 0 once freed */
  #stdout;
  #stderr;
  #args;
  #env;

  #fns = new Map(); /* name -> host function */
  /* The runtime's own host functions (stdio.mjs: C streams on fds 0-2, and
   * the adapter's: Node's sockets and name resolution), used when the user
   * registered none under the name. */
  #builtins;
  /* What adapter.builtins() made for this runtime: {functions, fds (sockets,
   * fds >= 3), counts(), close()}, or null (a browser has none). close() frees
   * it with the runtime. */
  #extra;
  /* Host operations C started and JS has not completed: op id -> record
   * {op, name, args, controller (made on the first read of `signal`), aborted,
   * settled}. A record leaves this map when it
   * settles (its completion is queued) or when C cancels it. */
  #ops = new Map();
  /* Completions waiting for the next tick, in arrival order: op -> {code, bytes,
   * rec} (rec: to abort its signal if C cancels the op before taking it). */
  #completions = new Map();
  /* Exported-coroutine calls in flight: call id -> {resolve, reject, cleanup}. */
  #calls = new Map();
  /* Work an import asked for, run once no wasm frame is on the stack. */
  #deferred = [];
  #depth = 0;
  #draining = false;

  #tickScheduled = false;
  #running = false; /* inside #runTick */
  /* Ticks from microtasks (#kick): one is queued; when the current window
   * opened (performance.now()); whether a macrotask of ours (a tick, the
   * timer, a marker) ran since the last tick from a microtask; whether a
   * marker macrotask is queued. */
  #inlineQueued = false;
  #windowAt = -Infinity;
  #turned = true;
  #markerPending = false;
  #timer = null;
  #timerDue = 0;
  #timerRef = false;
  #main = null; /* {resolve, reject} while rt.main() is pending */
  #mainStarted = false;
  #closed = false;
  #dead = null; /* the TideExit or trap that finished the instance */
  #tickFn = () => {
    this.#turned = true;
    this.#runTick();
  };
  #timerFn = () => {
    this.#timer = null;
    this.#turned = true;
    if (!this.#tickScheduled) this.#runTick();
  };
  #inlineFn = () => {
    this.#inlineQueued = false;
    try {
      this.#runInline();
    } catch (e) {
      reportUncaught(e); /* #runTick reports its own; nothing else throws */
    }
  };
  #markerFn = () => {
    this.#markerPending = false;
    this.#turned = true;
  };

  /**
   * Counters for tests and tuning. ticks: tide_js_tick calls; hostCalls: host
   * operations C started; completions: completions delivered to C; calls:
   * exported coroutines called; timers: host timers armed.
   */
  stats = { ticks: 0, hostCalls: 0, completions: 0, calls: 0, timers: 0 };
  /** WASI imports the module has that this host stubs with ENOSYS ("fd_read", ...). */
  unsupportedImports = [];
  /** The status the program passed to exit(), once it did. */
  exitCode = undefined;
  /** Low-level test hook: called with (op id, name) inside the host_call import,
   * before the function starts. It must not call into wasm. */
  _onHostCall = undefined;

  constructor(token, adapter, opts) {
    if (token !== INTERNAL) throw new TypeError('tideloop: use load() to make a runtime');
    this.#a = adapter;
    this.#stdout = new LineBuffer(opts.stdout ?? adapter.stdout);
    this.#stderr = new LineBuffer(opts.stderr ?? adapter.stderr);
    this.#args = opts.args;
    this.#env = opts.env;
    this.#extra = typeof adapter.builtins === 'function' ? adapter.builtins() : null;
    this.#builtins = stdioFunctions(
      inputSource(opts.stdin !== undefined ? opts.stdin : adapter.stdin),
      new Map([
        [1, this.#writer(1, opts.stdout !== undefined, this.#stdout)],
        [2, this.#writer(2, opts.stderr !== undefined, this.#stderr)],
      ]),
      this.#extra?.fds ?? null,
    );
    for (const [name, fn] of this.#extra?.functions ?? []) this.#builtins.set(name, fn);
  }

  /* What a C stream's write to fd 1 or 2 goes to: the line sink the user gave
   * (so it sees everything C writes there), else the adapter's byte writer (Node:
   * process.stdout, exact bytes, with backpressure), else the adapter's line
   * sink. A line sink takes the bytes at once. */
  #writer(fd, userSink, lines) {
    if (!userSink && typeof this.#a.writeFd === 'function') {
      return (bytes) => this.#a.writeFd(fd, bytes);
    }
    return (bytes) => {
      lines.write(bytes);
      return bytes.length;
    };
  }

  /* Link, instantiate, initialise, make the loop. */
  async [INTERNAL](module) {
    const imports = this.#imports(module);
    const instance = await WebAssembly.instantiate(module, imports);
    const x = instance.exports;
    if (typeof x._initialize !== 'function' && typeof x._start === 'function') {
      throw new Error('tideloop: the module is a WASI command (_start); build it as a ' +
        'reactor (-mexec-model=reactor, or emcc --no-entry)');
    }
    const missing = [...REQUIRED_EXPORTS, '_initialize'].filter((n) => !(n in x));
    if (missing.length) {
      throw new Error(`tideloop: the module lacks the exports ${missing.join(', ')} ` +
        '(is it linked with wasm/exports.c and wasm/exports.txt?)');
    }
    this.#exports = x;
    this.#enter((e) => e._initialize());
    const loop = this.#enter((e) => e.tide_js_loop_new()) >>> 0;
    if (loop === 0) throw new TideError(errors.ENOMEM, 'tideloop: cannot allocate the loop');
    this.#loop = loop;
  }

  #imports(module) {
    const wanted = WebAssembly.Module.imports(module);
    const wasi = wasiImports({
      memory: () => this.#exports.memory,
      stdout: this.#stdout,
      stderr: this.#stderr,
      args: this.#args,
      env: this.#env,
      onExit: (code) => {
        this.exitCode = code;
      },
    });
    const tideloop = this.#tideloopImports();
    const out = { tideloop: {}, wasi_snapshot_preview1: {} };
    const unknown = [];
    for (const { module: mod, name, kind } of wanted) {
      const full = `${mod}.${name}`;
      if (kind !== 'function') unknown.push(`${full} (${kind})`);
      else if (mod === 'tideloop' && TIDELOOP_IMPORTS.has(name)) out.tideloop[name] = tideloop[name];
      else if (mod === 'wasi_snapshot_preview1') {
        if (Object.hasOwn(wasi, name)) out[mod][name] = wasi[name];
        else {
          out[mod][name] = wasiUnsupported;
          this.unsupportedImports.push(name);
        }
      } else if (HARMLESS_IMPORTS.has(full)) {
        (out[mod] ??= {})[name] = HARMLESS_IMPORTS.get(full);
      } else unknown.push(full);
    }
    if (unknown.length) {
      throw new Error(`tideloop: the module imports ${unknown.join(', ')}, which this host ` +
        'does not provide (see wasm/ABI.md for what a module may import)');
    }
    if (this.unsupportedImports.length) {
      /* Loud on purpose: a C call that reaches one of these fails with ENOSYS,
       * and the user should know before that happens. */
      this.#stderr.write(utf8(
        `tideloop: this host does not provide the WASI imports ${this.unsupportedImports.join(', ')}` +
          ' of this module; calls to them fail with ENOSYS\n',
      ));
    }
    return out;
  }

  /* The `tideloop` import module (ABI.md "Imports"). Everything C passes is
   * checked: a bad pointer from C must not crash the host. */
  #tideloopImports() {
    const ours = (loop) => this.#loop !== 0 && loop >>> 0 === this.#loop;
    /* An exception must never unwind through C from here (C would be left
     * half-way through a function): report it as uncaught and return. */
    const guard = (f) => (a, b, c, d, e, g) => {
      try {
        return f(a, b, c, d, e, g);
      } catch (e) {
        reportUncaught(e);
        return undefined;
      }
    };
    const imports = {
      now_ms: () => performance.now(),
      schedule: (loop) => {
        if (ours(loop)) this.#ensureTick();
      },
      report: (_loop, ptr, len) => {
        const bytes = this.#read(ptr, len);
        this.#stderr.write(bytes ?? utf8('tideloop: report() with a pointer outside memory'));
        this.#stderr.write(utf8('\n'));
      },
      host_call: (loop, op, namePtr, nameLen, argsPtr, argsLen) => {
        if (!ours(loop)) return;
        this.#hostCall(op >>> 0, namePtr, nameLen, argsPtr, argsLen);
      },
      host_cancel: (loop, op) => {
        if (!ours(loop)) return;
        this.#hostCancel(op >>> 0);
      },
      call_done: (loop, call, code, ptr, len) => {
        if (!ours(loop)) return;
        this.#callDone(call >>> 0, code | 0, ptr, len);
      },
    };
    for (const k of Object.keys(imports)) if (k !== 'now_ms') imports[k] = guard(imports[k]);
    return imports;
  }

  /* A copy of [ptr, ptr + len) of memory, or null if it is not inside it. */
  #read(ptr, len) {
    ptr >>>= 0;
    len >>>= 0;
    const buf = this.#exports.memory.buffer;
    if (ptr + len > buf.byteLength) return null;
    return new Uint8Array(buf, ptr, len).slice();
  }

  /* Copy bytes into fresh memory from tide_js_alloc; 0 for no bytes. */
  #put(x, bytes) {
    if (bytes.length === 0) return 0;
    const p = x.tide_js_alloc(bytes.length) >>> 0;
    if (p === 0) throw new TideError(errors.ENOMEM, 'tideloop: out of wasm memory');
    new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
    return p;
  }

  /* --- Host operations: C calls JS ------------------------------------------ */

  #hostCall(op, namePtr, nameLen, argsPtr, argsLen) {
    this.stats.hostCalls++;
    if (this.#ops.has(op) || this.#completions.has(op)) {
      /* C never reuses a live id (generations); if it did, keep the first. */
      this.#stderr.write(utf8(`tideloop: host_call reused live operation id ${op}\n`));
      return;
    }
    const rec = new HostOp(op);
    this.#ops.set(op, rec);
    namePtr >>>= 0;
    nameLen >>>= 0;
    argsPtr >>>= 0;
    argsLen >>>= 0;
    const buf = this.#exports.memory.buffer;
    if (namePtr + nameLen > buf.byteLength || argsPtr + argsLen > buf.byteLength) {
      this.#settle(rec, false, new TideError(errors.EINVAL, 'host_call: name or arguments outside memory'));
      return;
    }
    /* Fresh views of memory, read now and dropped: decoding copies. */
    rec.name = this.#nameAt(new Uint8Array(buf, namePtr, nameLen));
    let bad = null;
    try {
      rec.args = decodeArgs(new Uint8Array(buf, argsPtr, argsLen), 0, argsLen);
    } catch (e) {
      bad = e;
    }
    try {
      this._onHostCall?.(op, rec.name);
    } catch (e) {
      reportUncaught(e);
    }
    if (bad !== null) {
      this.#settle(rec, false, bad);
      return;
    }
    if (this.#closed) {
      this.#settle(rec, false, new TideError(errors.ECANCELED, 'the runtime is closing'));
      return;
    }
    /* Not from inside the import: the function may call back into wasm.
     * #drain starts a HostOp queued here. */
    this.#deferred.push(rec);
  }

  /* The name in `mem` (a view of memory), through #names. */
  #names = [];
  #nameAt(mem) {
    const len = mem.length;
    if (len > NAME_CACHE_LEN) return fromUtf8(mem);
    const names = this.#names;
    next: for (let k = 0; k < names.length; k++) {
      const b = names[k].bytes;
      if (b.length !== len) continue;
      for (let i = 0; i < len; i++) if (b[i] !== mem[i]) continue next;
      return names[k].name;
    }
    const bytes = mem.slice();
    const name = fromUtf8(bytes);
    if (names.length < NAME_CACHE) names.push({ bytes, name });
    return name;
  }

  #start(rec) {
    if (rec.settled) return; /* cancelled before it started */
    const fn = this.#fns.get(rec.name) ?? this.#builtins.get(rec.name);
    if (fn === undefined) {
      this.#settle(rec, false, new TideError(errors.ENOENT,
        `no host function is registered under the name "${rec.name}"`));
      return;
    }
    const options = new HostCallOptions(rec);
    const a = rec.args;
    let result;
    try {
      /* Not fn(...a, options) for the usual arities: a spread call costs more. */
      switch (a.length) {
        case 0:
          result = fn(options);
          break;
        case 1:
          result = fn(a[0], options);
          break;
        case 2:
          result = fn(a[0], a[1], options);
          break;
        case 3:
          result = fn(a[0], a[1], a[2], options);
          break;
        default:
          result = fn(...a, options);
      }
    } catch (e) {
      this.#settle(rec, false, e);
      return;
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).then(
        (v) => this.#settle(rec, true, v),
        (e) => this.#settle(rec, false, e),
      );
    } else {
      this.#settle(rec, true, result);
    }
  }

  /* The one place an operation completes on the JS side: exactly once, and only
   * while C still waits for it. The completion goes out with the next tick, so
   * many completions arriving before it cost one tick. */
  #settle(rec, ok, value) {
    if (rec.settled) return;
    rec.settled = true;
    this.#ops.delete(rec.op);
    if (this.#dead || this.#loop === 0) return;
    let c;
    if (!ok) {
      c = new Completion(rec, codeOfThrown(value), -1, 0, utf8(messageOfThrown(value)));
    } else if (typeof value === 'number') {
      c = new Completion(rec, 0, TAG_NUMBER, value, null);
    } else if (value === undefined || value === null) {
      c = new Completion(rec, 0, TAG_NONE, 0, null);
    } else if (typeof value === 'string') {
      c = new Completion(rec, 0, TAG_STRING, 0, utf8(value));
    } else if (value instanceof Uint8Array && value.length <= 0xffffffff) {
      /* A copy now (the function may reuse its buffer), as encodeList makes. */
      c = new Completion(rec, 0, TAG_BYTES, 0, new Uint8Array(value));
    } else {
      try {
        c = new Completion(rec, 0, -1, 0, encodeList([value]));
      } catch (e) {
        c = new Completion(rec, errors.EINVAL, -1, 0,
          utf8(`host function "${rec.name}" returned a value C cannot take: ${e.message}`));
      }
    }
    this.#completions.set(rec.op, c);
    this.#kick();
  }

  #hostCancel(op) {
    /* Whatever JS had for it is dropped: C already treats the op as cancelled
     * and would refuse a completion (TIDE_ENOENT). A value the function had
     * already returned is dropped with it, so its signal aborts all the same:
     * a function whose value holds something (an accepted connection, a new
     * socket) learns that C never got it, and can put it back or free it. */
    const dropped = this.#completions.get(op);
    this.#completions.delete(op);
    if (dropped !== undefined) {
      const c = dropped.rec.controller;
      dropped.rec.aborted = true;
      if (c) this.#deferred.push(() => c.abort());
      return;
    }
    const rec = this.#ops.get(op);
    if (rec === undefined) return;
    rec.settled = true;
    rec.aborted = true;
    this.#ops.delete(op);
    const c = rec.controller;
    if (c) this.#deferred.push(() => c.abort());
  }

  /* Deliver the queued completions: one tide_js_complete each, in arrival
   * order. The two maps take turns, so a tick allocates none. */
  #spareCompletions = new Map();
  #deliver(x) {
    if (this.#completions.size === 0) return;
    const batch = this.#completions;
    this.#completions = this.#spareCompletions;
    try {
      for (const c of batch.values()) {
        const op = c.rec.op;
        let len = c.size;
        let code = c.code;
        let ptr = 0;
        if (len > 0) {
          ptr = x.tide_js_alloc(len) >>> 0;
          if (ptr === 0) {
            /* No memory for the value: complete with ENOMEM and no message. */
            code = errors.ENOMEM;
            len = 0;
          } else {
            c.writeTo(new Uint8Array(x.memory.buffer, ptr, len));
          }
        }
        const rc = x.tide_js_complete(this.#loop, op, code, ptr, len);
        this.stats.completions++;
        if (rc === errors.ERANGE && ptr) x.tide_js_free(ptr);
        if (rc < 0 && rc !== errors.ENOENT) {
          this.#stderr.write(utf8(`tideloop: completing operation ${op} failed: ${errorName(rc)}\n`));
        }
      }
    } finally {
      batch.clear();
      this.#spareCompletions = batch;
    }
  }

  /* --- Exported coroutines: JS calls C ------------------------------------- */

  #callDone(call, code, ptr, len) {
    const rec = this.#calls.get(call);
    if (rec === undefined) return;
    this.#calls.delete(call);
    rec.cleanup();
    ptr >>>= 0;
    len >>>= 0;
    const buf = this.#exports.memory.buffer;
    /* A fresh view, read now: decoding copies what it keeps. */
    const bytes = ptr + len > buf.byteLength ? null : new Uint8Array(buf, ptr, len);
    if (bytes === null) {
      rec.reject(new TideError(errors.EINVAL, 'call_done: result outside memory'));
    } else if (code === 0) {
      try {
        const values = decodeArgs(bytes, 0, bytes.length);
        if (values.length !== 1) {
          throw new TideError(errors.EINVAL, `call_done: ${values.length} values, expected 1`);
        }
        rec.resolve(values[0]);
      } catch (e) {
        rec.reject(e);
      }
    } else {
      rec.reject(new TideError(code, fromUtf8(bytes)));
    }
  }

  /* --- Driving the loop ------------------------------------------------------ */

  /* Run fn(exports) as one call into wasm. When the outermost call returns, the
   * work imports queued runs (#drain). A trap or exit() finishes the runtime. */
  #enter(fn) {
    if (this.#dead) throw this.#dead;
    this.#depth++;
    try {
      return fn(this.#exports);
    } catch (e) {
      /* exit() and traps (including a wasm stack overflow, a RangeError) unwound
       * wasm frames: the instance is finished. Errors our own JS threw around the
       * call (out of wasm memory for an argument, say) leave it intact. */
      if (unwound(e)) this.#die(e);
      throw e;
    } finally {
      this.#depth--;
      if (this.#depth === 0 && !this.#dead) this.#drain();
    }
  }

  /* Run what imports queued: host operations to start (HostOp) and
   * functions. */
  #drain() {
    if (this.#deferred.length === 0) return;
    if (this.#draining) return; /* an outer #drain is already looping */
    this.#draining = true;
    try {
      while (this.#deferred.length && !this.#dead) {
        const batch = this.#deferred;
        this.#deferred = [];
        for (let i = 0; i < batch.length; i++) {
          const f = batch[i];
          try {
            if (f instanceof HostOp) this.#start(f);
            else f();
          } catch (e) {
            reportUncaught(e);
          }
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /* Why a macrotask and not a microtask: ready C work can keep rescheduling
   * itself (a coroutine that yields in a loop). Run from microtasks, it would
   * never let the engine get back to its event loop, so a page would stop
   * rendering and taking input, and Node would starve its I/O and timers.
   * A macrotask per tick lets all of those run between ticks, as asyncio's loop
   * lets I/O in between iterations. The adapter picks the cheapest unclamped
   * macrotask (MessageChannel in browsers: setTimeout(0) is clamped to 4 ms when
   * nested; setImmediate in Node). Work C itself made ready (the next timeout is
   * 0, or C called `schedule`) always waits for this macrotask. */
  #ensureTick() {
    if (this.#tickScheduled || this.#closed || this.#dead || this.#loop === 0) return;
    this.#tickScheduled = true;
    this.#a.queueTick(this.#tickFn);
  }

  /* Work JS made ready (a completion, an exported-coroutine call or its
   * cancellation, the completions of synchronous host functions a tick
   * started) is taken to C from a microtask when C waits for nothing else and
   * that is fair, else with the macrotask tick above.
   *
   * Why: a macrotask costs a turn of the engine's event loop (Node:
   * setImmediate, a browser: a MessageChannel message), a third or more of a
   * C -> JS -> C round trip when C awaits an async host function (bench W5),
   * several times the rest in a browser; a microtask costs next to nothing.
   *
   * Only when no other host operation is in flight: then no other completion
   * can join this one, and waiting buys nothing. With operations in flight
   * (a server's reads on many sockets, bench W6) the macrotask tick is
   * better: the completions of everything that happened meanwhile (every
   * socket Node's poll phase found ready) go to C in one tick, and C finds
   * more input already there when it reads again. Ticks from microtasks there
   * measured 30% fewer requests/s.
   *
   * Fair: a window of INLINE_MS is open. A window opens only once a macrotask
   * of ours (a tick, the host timer, or a marker: a no-op macrotask queued
   * along with ticks from microtasks) ran after the last tick from a
   * microtask, i.e. once the engine's event loop had a turn in between
   * (timers, I/O, rendering). So ticks from microtasks never hold the event
   * loop for longer than INLINE_MS (plus the tick that started last): then
   * the macrotask tick takes over, and the next window opens once it ran.
   * The microtask is queued once for everything that arrives before it runs,
   * so completions that settle together still cost one tick. */
  #kick() {
    if (this.#tickScheduled || this.#inlineQueued || this.#closed || this.#dead ||
      this.#loop === 0) return;
    /* Decided now, not in the microtask: the macrotask tick, if it is that,
     * is queued now as it always was, so it still runs before any macrotask
     * JS queues after this point (rt.call(); setImmediate(f): the call's
     * first step runs before f, either way). */
    if (this.#ops.size !== 0 || !this.#mayInline()) {
      /* C waits for other host operations too (their completions join this
       * one in the macrotask tick, see above), or it is not fair now. */
      this.#ensureTick();
      return;
    }
    this.#inlineQueued = true;
    RESOLVED.then(this.#inlineFn);
  }

  #runInline() {
    if (this.#tickScheduled || this.#closed || this.#dead || this.#loop === 0) return;
    /* Never inside a call into wasm, a host function (#drain) or a tick. A
     * microtask runs with an empty stack, so this is only a safeguard. */
    if (this.#depth === 0 && !this.#draining && !this.#running) this.#runTick();
    else this.#ensureTick();
  }

  /* Whether a tick may run from a microtask queued now (#kick). */
  #mayInline() {
    const now = performance.now();
    if (now - this.#windowAt >= INLINE_MS) {
      /* The window is over: a new one opens only after a turn of the event
       * loop we have seen. */
      if (!this.#turned) return false;
      this.#windowAt = now;
    }
    this.#turned = false;
    /* The marker shows us the next turn as soon as it comes, so that a tick
     * after it (sparse completions, one per turn, say) may go by microtask
     * again. One at a time: a microtask chain leaves it queued. */
    if (!this.#markerPending) {
      this.#markerPending = true;
      this.#a.queueTick(this.#markerFn);
    }
    return true;
  }

  /* What #runTick runs in wasm: made once, not a closure per tick. */
  #tickBody = (x) => {
    this.#deliver(x);
    this.stats.ticks++;
    return x.tide_js_tick(this.#loop);
  };
  #hasRef = 0;
  #timeoutBody = (x) => {
    const t = x.tide_js_next_timeout(this.#loop);
    this.#hasRef = t > 0 ? x.tide_js_has_ref(this.#loop) : 0;
    return t;
  };

  #runTick() {
    this.#tickScheduled = false;
    if (this.#closed || this.#dead || this.#loop === 0) return;
    if (this.#running) {
      /* Never re-entrant (nothing should get here): run it afterwards. */
      this.#ensureTick();
      return;
    }
    let r;
    let t;
    let ref;
    this.#running = true;
    try {
      r = this.#enter(this.#tickBody);
      /* Host functions started by that tick ran in #drain; a synchronous one has
       * already queued its completion (and asked for the next tick). The
       * keep-alive matters only for a timer. */
      t = this.#enter(this.#timeoutBody);
      ref = this.#hasRef;
    } catch (e) {
      if (!this.#dead) reportUncaught(e);
      return;
    } finally {
      this.#running = false;
    }
    if (r < 0) this.#stderr.write(utf8(`tideloop: tide_js_tick failed: ${errorName(r)}\n`));
    if (this.#closed) return;
    if (t === 0) this.#ensureTick();
    else if (this.#completions.size) this.#kick();
    if (t > 0) this.#armTimer(t, ref === 1);
    else if (t < 0) this.#clearTimer();
    if (this.#main && r === 0 && !this.#tickScheduled && !this.#inlineQueued &&
      this.#ops.size === 0 && this.#completions.size === 0) {
      const main = this.#main;
      this.#main = null;
      let code;
      try {
        code = this.#enter((x) => x.tide_js_exit_code(this.#loop));
      } catch (e) {
        main.reject(e);
        return;
      }
      main.resolve(code);
    }
  }

  /* One host timer per loop, re-armed only when the deadline moves. It is ref'd
   * (keeps Node alive) iff the loop has referenced work. */
  #armTimer(ms, ref) {
    const due = performance.now() + ms;
    if (this.#timer !== null && Math.abs(this.#timerDue - due) < 1) {
      if (this.#timerRef !== ref) {
        this.#a.refTimer(this.#timer, ref);
        this.#timerRef = ref;
      }
      return;
    }
    this.#clearTimer();
    this.#timerDue = due;
    this.#timerRef = ref;
    this.stats.timers++;
    this.#timer = this.#a.setTimer(this.#timerFn, Math.ceil(ms), ref);
  }

  #clearTimer() {
    if (this.#timer !== null) {
      this.#a.clearTimer(this.#timer);
      this.#timer = null;
    }
  }

  /* A trap or exit() unwound through wasm: the instance's state is unknown, so
   * nothing calls into it again. Pending work is rejected with the cause (a
   * pending main() resolves with the exit status instead). */
  #die(e) {
    if (this.#dead) return;
    this.#dead = e;
    this.#clearTimer();
    this.#stdout.flush();
    this.#stderr.flush();
    const exited = e instanceof TideExit;
    let told = false;
    for (const rec of this.#calls.values()) {
      rec.cleanup();
      rec.reject(e);
      told = true;
    }
    this.#calls.clear();
    for (const rec of this.#ops.values()) {
      rec.settled = true;
      rec.aborted = true;
      rec.controller?.abort();
    }
    this.#ops.clear();
    this.#completions.clear();
    this.#deferred = [];
    this.#closeExtra();
    if (this.#main) {
      if (exited) this.#main.resolve(e.code);
      else this.#main.reject(e);
      this.#main = null;
      told = true;
    }
    if (!told && !exited) {
      this.#stderr.write(utf8(`tideloop: the wasm instance failed and is finished: ${e?.message ?? e}\n`));
      this.#stderr.flush();
    }
  }

  /* --- Public API ------------------------------------------------------------- */

  /**
   * Register fn as the host function `name` (replacing any earlier one). C calls
   * it with tide_host_call(); it gets the arguments and a last `{signal}`. The
   * runtime's own "tideloop:*" functions (C streams, and under Node TCP and
   * name resolution) may be overridden this way: a registered function wins.
   */
  register(name, fn) {
    if (typeof name !== 'string' || name === '') {
      throw new TypeError('tideloop: register(name, fn): name must be a non-empty string');
    }
    if (typeof fn !== 'function') {
      throw new TypeError('tideloop: register(name, fn): fn must be a function');
    }
    this.#fns.set(name, fn);
    return this;
  }

  /** Remove host function `name`; true if there was one. A built-in of the same
   * name ("tideloop:*") is used again afterwards. */
  unregister(name) {
    return this.#fns.delete(name);
  }

  /**
   * Call the C coroutine exported under `name` (tide_export_task) with args.
   * Resolves with its result; rejects with a TideError for its error; aborting
   * signal cancels the task (rejecting with ECANCELED unless it ends otherwise).
   */
  call(name, args = [], { signal } = {}) {
    return new Promise((resolve, reject) => {
      if (typeof name !== 'string') throw new TypeError('tideloop: call(name): name must be a string');
      if (!Array.isArray(args)) throw new TypeError('tideloop: call(name, args): args must be an array');
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError('tideloop: call(): signal must be an AbortSignal');
      }
      if (this.#dead) throw this.#dead;
      if (this.#closed) throw new TideError(errors.ECLOSED, 'the runtime is closed');
      if (signal?.aborted) throw new TideError(errors.ECANCELED, 'aborted before the call');
      const list = encodeArgs(args);
      const start = () => this.#startCall(name, list, signal, resolve, reject);
      /* Called from inside an import (a sink, say): wasm is on the stack, so
       * the call goes out once it has returned. */
      if (this.#depth > 0) this.#deferred.push(start);
      else start();
    });
  }

  /* The UTF-8 of an export's name, kept for the NAME_CACHE names called
   * first (JS calls the same few again and again). C borrows it. */
  #callNames = new Map();
  #callName(name) {
    let bytes = this.#callNames.get(name);
    if (bytes === undefined) {
      bytes = utf8(name);
      if (this.#callNames.size < NAME_CACHE) this.#callNames.set(name, bytes);
    }
    return bytes;
  }

  #startCall(name, list, signal, resolve, reject) {
    if (this.#dead) return reject(this.#dead);
    if (this.#closed) return reject(new TideError(errors.ECLOSED, 'the runtime is closed'));
    if (signal?.aborted) return reject(new TideError(errors.ECANCELED, 'aborted before the call'));
    const nameBytes = this.#callName(name);
    let id;
    try {
      id = this.#enter((x) => {
        const np = this.#put(x, nameBytes);
        let ap;
        try {
          ap = this.#put(x, list);
        } catch (e) {
          if (np) x.tide_js_free(np);
          throw e;
        }
        const rc = x.tide_js_call(this.#loop, np, nameBytes.length, ap, list.length);
        /* The name is borrowed for the call; the argument buffer is C's now,
         * except when C refused the pointers themselves. */
        if (np) x.tide_js_free(np);
        if (rc === errors.ERANGE && ap) x.tide_js_free(ap);
        return rc;
      });
    } catch (e) {
      return reject(e);
    }
    if (id <= 0) {
      return reject(new TideError(id, id === errors.ENOENT
        ? `no coroutine is exported under the name "${name}"`
        : `calling "${name}" failed`));
    }
    this.stats.calls++;
    const onAbort = () => this.#cancelCall(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#calls.set(id >>> 0, {
      resolve,
      reject,
      cleanup: () => signal?.removeEventListener('abort', onAbort),
    });
    this.#kick();
    return undefined;
  }

  #cancelCall(id) {
    if (!this.#calls.has(id) || this.#dead) return;
    /* An abort listener can run anywhere, also inside an import (a sink, say). */
    if (this.#depth > 0) {
      this.#deferred.push(() => this.#cancelCall(id));
      return;
    }
    try {
      this.#enter((x) => x.tide_js_cancel(this.#loop, id));
    } catch {
      return; /* the instance died; #die rejected the call */
    }
    this.#kick();
  }

  /**
   * Run the module's TIDE_MAIN setup with argv (argv[0] is the program name;
   * default: options.args) and resolve with the exit code once the loop has no
   * referenced work left.
   */
  main(argv = this.#args) {
    return new Promise((resolve, reject) => {
      if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) {
        throw new TypeError('tideloop: main(argv): argv must be an array of strings');
      }
      if (this.#dead) throw this.#dead;
      if (this.#closed) throw new TideError(errors.ECLOSED, 'the runtime is closed');
      if (this.#mainStarted) throw new TideError(errors.ESTATE, 'main() already ran on this runtime');
      this.#mainStarted = true;
      this.#main = { resolve, reject };
      if (this.#depth > 0) this.#deferred.push(() => this.#startMain(argv));
      else this.#startMain(argv);
    });
  }

  #startMain(argv) {
    if (!this.#main) return; /* closed or died meanwhile: already settled */
    let rc;
    try {
      rc = this.#enter((x) => {
        const ptrs = [];
        try {
          for (const a of argv) {
            const s = utf8(a);
            const z = new Uint8Array(s.length + 1);
            z.set(s);
            ptrs.push(this.#put(x, z));
          }
          const table = new Uint8Array(4 * (ptrs.length + 1));
          const dv = new DataView(table.buffer);
          ptrs.forEach((p, i) => dv.setUint32(4 * i, p, true));
          ptrs.push(this.#put(x, table));
          return x.tide_js_main(this.#loop, argv.length, ptrs.at(-1));
        } catch (e) {
          /* After a trap or exit() nothing calls into the instance again. */
          if (unwound(e)) ptrs.length = 0;
          throw e;
        } finally {
          /* argv is borrowed for the setup call (C copies what it keeps). */
          for (const p of ptrs) if (p) x.tide_js_free(p);
        }
      });
    } catch (e) {
      /* #die settled main already if the instance is finished. */
      if (this.#main) {
        this.#main.reject(e);
        this.#main = null;
      }
      return;
    }
    if (rc !== 0 && this.#main) {
      /* As natively: a failing setup is exit status 1. */
      this.#main.resolve(1);
      this.#main = null;
      return;
    }
    this.#ensureTick();
  }

  /**
   * Stop driving the loop and free it: pending calls and main() reject with
   * ECANCELED, host functions in flight see their signal abort, C tasks are
   * cancelled and given a few ticks to finish. Returns 0, or TIDE_EBUSY if C
   * work would not finish (the loop's memory then goes with the instance).
   * Idempotent.
   */
  close() {
    if (this.#closed) return this.#closeRc;
    this.#closed = true;
    this.#clearTimer();
    const cancelled = () => new TideError(errors.ECANCELED, 'the runtime was closed');
    const callIds = [...this.#calls.keys()];
    for (const rec of this.#calls.values()) {
      rec.cleanup();
      rec.reject(cancelled());
    }
    this.#calls.clear();
    if (this.#main) {
      this.#main.reject(cancelled());
      this.#main = null;
    }
    if (this.#dead || this.#loop === 0) {
      this.#closeExtra();
      return (this.#closeRc = 0);
    }
    /* Host functions in flight: abort them, and tell C they were cancelled. */
    for (const rec of [...this.#ops.values()]) {
      const c = rec.controller;
      rec.aborted = true;
      this.#settle(rec, false, cancelled());
      if (c) this.#deferred.push(() => c.abort());
    }
    let rc;
    try {
      rc = this.#enter((x) => x.tide_js_loop_free(this.#loop));
      if (rc === errors.EBUSY) {
        for (const id of callIds) this.#enter((x) => x.tide_js_cancel(this.#loop, id));
        for (let i = 0; i < CLOSE_TICKS && rc === errors.EBUSY; i++) {
          const t = this.#enter((x) => {
            this.#deliver(x);
            x.tide_js_tick(this.#loop);
            return x.tide_js_next_timeout(this.#loop);
          });
          for (const rec of [...this.#ops.values()]) this.#settle(rec, false, cancelled());
          rc = this.#enter((x) => x.tide_js_loop_free(this.#loop));
          if (t !== 0 && this.#completions.size === 0) break;
        }
      }
    } catch {
      rc = 0; /* the instance died on the way: nothing of it is left to free */
    }
    if (rc === 0) this.#loop = 0;
    this.#completions.clear();
    /* After the loop: C's cancelled operations have aborted their signals, so
     * what is left (sockets C never closed, servers) goes here. */
    this.#closeExtra();
    this.#stdout.flush();
    this.#stderr.flush();
    return (this.#closeRc = rc);
  }

  #closeExtra() {
    try {
      this.#extra?.close?.();
    } catch (e) {
      reportUncaught(e);
    }
  }

  #closeRc = 0;

  [disposeSymbol]() {
    this.close();
  }

  /** True once close() was called. */
  get closed() {
    return this.#closed;
  }

  /** Low-level escape hatch for tests: the raw wasm exports. */
  get _exports() {
    return this.#exports;
  }

  /** Low-level escape hatch for tests: the C loop pointer (0 once freed). */
  get _loop() {
    return this.#loop;
  }

  /** Low-level: JS-side bookkeeping sizes (host ops in flight, queued
   * completions, calls in flight), for leak tests. */
  get _pending() {
    return { ops: this.#ops.size, completions: this.#completions.size, calls: this.#calls.size };
  }

  /** Low-level: the adapter's socket bookkeeping (Node: listeners, sockets C
   * holds, connections queued for an accept, connects in flight), for leak
   * tests; null where there are no sockets (a browser). */
  get _net() {
    return this.#extra?.counts?.() ?? null;
  }

  /** Low-level: the adapter's datagram sockets (Node: sockets open and being
   * bound, datagrams queued for a receive, datagrams dropped at a full queue),
   * for leak tests; null where there are none (a browser). */
  get _udp() {
    return this.#extra?.udpCounts?.() ?? null;
  }
}
