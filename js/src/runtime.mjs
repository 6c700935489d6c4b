// runtime.mjs: the public Runtime class, one instance of a tideloop module and
// the one C loop it runs (src/backend/js/ABI.md), composed of parts that share one
// RuntimeState (state.mjs): the Scheduler, which calls into wasm and drives the
// loop (scheduler.mjs), the host operations, C calling JS (host-ops.mjs), the
// exported calls, JS calling C (calls.mjs), and the import object that links
// the module to them (imports.mjs). The Runtime itself instantiates and
// initialises the module, gives C streams their writers, and finishes it:
// close() frees the loop, and a trap or exit() finishes the instance (#die).
// Only standard JS and Web APIs are used here and in the parts; everything that
// differs between engines (how a macrotask is queued, timer keep-alive, default
// output, host functions only some engines can provide: Node's sockets) comes
// from the adapter load() was given (index.mjs or node.mjs).

import { TideError, TideExit, errors } from './errors.mjs';
import { utf8 } from './values.mjs';
import { LineBuffer } from './wasi.mjs';
import { inputSource, stdioFunctions } from './stdio.mjs';
import { RuntimeState, reportUncaught } from './state.mjs';
import { Scheduler } from './scheduler.mjs';
import { HostOps } from './host-ops.mjs';
import { Calls } from './calls.mjs';
import { linkImports, checkExports } from './imports.mjs';
import { directImports } from './direct-io.mjs';

/* Rules that keep the two sides consistent:
 * - No view of wasm memory is kept across an await or a call into wasm (memory
 *   growth detaches it): every access takes a fresh view, copies, and drops it.
 * - Nothing calls into wasm from inside an import. Work an import triggers
 *   (starting a host function, aborting a signal) is queued and run once the
 *   outermost export call has returned (Scheduler enter / #drain).
 * - Every host operation completes exactly once: HostOps settle() marks it, and
 *   a completion for an operation C cancelled is dropped, never delivered. */

/* How many synchronous ticks close() runs, at most, to let cancelled tasks finish
 * before it frees the loop. */
const CLOSE_TICKS = 64;

const INTERNAL = Symbol('tideloop.internal');

/**
 * A runtime for a compiled module: instantiated, initialised, with its loop
 * made. load.mjs's loadWith() is the one caller (opts: checked options).
 */
export async function makeRuntime(module, adapter, opts) {
  const rt = new Runtime(INTERNAL, adapter, opts);
  await rt[INTERNAL](module);
  return rt;
}

/**
 * One instance of a tideloop module and the one loop it runs. Made by load().
 */
export class Runtime {
  /* The adapter (index.mjs, node.mjs). The runtime takes its output, input,
   * byte writer and built-ins; the scheduler its ticks and timers. */
  #a;
  #s; /* the RuntimeState the parts share */
  #sched;
  #hostOps;
  #calls;
  #args;
  #env;
  /* What adapter.builtins() made for this runtime: {functions, fds (sockets,
   * fds >= 3), counts(), close()}, or null (a browser has none). close() frees
   * it with the runtime. */
  #extra;
  #closeRc = 0;

  /**
   * Counters for tests and tuning. ticks: tide_js_tick and tide_js_tick_settle
   * calls; hostCalls: host operations C started; completions: completions
   * delivered to C; calls: exported coroutines called; timers: host timers
   * armed.
   */
  stats = { ticks: 0, hostCalls: 0, completions: 0, calls: 0, timers: 0 };
  /** WASI imports the module has that this host stubs with ENOSYS ("fd_read", ...). */
  unsupportedImports = [];
  /** The status the program passed to exit(), once it did. */
  exitCode = undefined;
  /** Low-level test hook: called with (op id, name, args_len, shape) inside
   * the host_start import (ABI.md), before the function starts. It must not
   * call into wasm. */
  _onHostCall = undefined;

  constructor(token, adapter, opts) {
    if (token !== INTERNAL) throw new TypeError('tideloop: use load() to make a runtime');
    this.#a = adapter;
    const stdout = new LineBuffer(opts.stdout ?? adapter.stdout);
    const stderr = new LineBuffer(opts.stderr ?? adapter.stderr);
    const s = (this.#s = new RuntimeState(this.stats, stdout, stderr));
    this.#args = opts.args;
    this.#env = opts.env;
    this.#clock = opts.clock ?? 0;
    this.#extra = typeof adapter.builtins === 'function' ? adapter.builtins() : null;
    /* The runtime's own host functions (see HostOps): C streams on fds 0-2,
     * and the adapter's. */
    const builtins = stdioFunctions(
      inputSource(opts.stdin !== undefined ? opts.stdin : adapter.stdin),
      new Map([
        [1, this.#writer(1, opts.stdout !== undefined, stdout)],
        [2, this.#writer(2, opts.stderr !== undefined, stderr)],
      ]),
      this.#extra?.fds ?? null,
    );
    for (const [name, fn] of this.#extra?.functions ?? []) builtins.set(name, fn);
    this.#sched = new Scheduler(s, adapter, (e) => this.#die(e));
    this.#hostOps = new HostOps(s, this.#sched, this, builtins);
    this.#sched.hostOps = this.#hostOps;
    this.#calls = new Calls(s, this.#sched);
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
    const s = this.#s;
    const imports = linkImports(module, {
      state: s,
      sched: this.#sched,
      hostOps: this.#hostOps,
      calls: this.#calls,
      direct: directImports(s, this.#hostOps.fns, this.#extra?.fds ?? null),
      args: this.#args,
      env: this.#env,
      onExit: (code) => {
        this.exitCode = code;
      },
      unsupported: this.unsupportedImports,
    });
    const instance = await WebAssembly.instantiate(module, imports);
    const x = instance.exports;
    checkExports(x);
    s.exports = x;
    this.#sched.enter((e) => e._initialize());
    const loop = this.#sched.enter((e) => e.tide_js_loop_new()) >>> 0;
    if (loop === 0) throw new TideError(errors.ENOMEM, 'tideloop: cannot allocate the loop');
    s.loop = loop;
    this.#hostOps.attachRing(this.#sched.enter((e) => e.tide_js_ring(loop)));
    if (this.#clock !== 0) {
      this.#virtualTime('options.clock');
      const rc = this.#sched.enter((e) => e.tide_js_set_clock(loop, this.#clock));
      if (rc !== 0) throw new TideError(rc, 'tideloop: cannot set the loop\'s clock');
    }
  }

  #clock; /* tide_clock_mode, from options.clock */

  /* Virtual time needs exports a module built before it does not have. */
  #virtualTime(what) {
    const x = this.#s.exports;
    if (typeof x?.tide_js_set_clock !== 'function' || typeof x.tide_js_advance !== 'function') {
      throw new TypeError(`tideloop: ${what}: this module was built without virtual time ` +
        '(tide_js_set_clock): rebuild it with this version of tideloop');
    }
  }

  /**
   * Move the loop's virtual clock forward by ms (load({clock: 'virtual' or
   * 'autojump'})): what becomes due runs on the next tick, never inside this
   * call. A TideError ESTATE on the real clock.
   */
  advance(ms) {
    if (typeof ms !== 'number' || !(ms >= 0) || !(ms <= Number.MAX_SAFE_INTEGER + 1)) {
      throw new TypeError('tideloop: advance(ms): ms must be a number from 0 to 2^53');
    }
    const s = this.#s;
    if (s.closed || s.dead || s.loop === 0) throw new TideError(errors.ECLOSED, 'the runtime is closed');
    this.#virtualTime('advance()');
    const rc = this.#sched.enter((x) => x.tide_js_advance(s.loop, ms));
    if (rc !== 0) {
      throw new TideError(rc, rc === errors.ESTATE
        ? 'advance(): the loop runs on the real clock (load it with {clock})' : undefined);
    }
    this.#sched.ensureTick();
  }

  /** The loop's time in ms (tide_loop_now): the virtual clock's on one. */
  now() {
    const s = this.#s;
    if (s.closed || s.dead || s.loop === 0) throw new TideError(errors.ECLOSED, 'the runtime is closed');
    return this.#sched.enter((x) => x.tide_js_now(s.loop));
  }

  /* A trap or exit() unwound through wasm (Scheduler enter): the instance's
   * state is unknown, so nothing calls into it again. Pending work is rejected
   * with the cause (a pending main() resolves with the exit status instead). */
  #die(e) {
    const s = this.#s;
    if (s.dead) return;
    s.dead = e;
    this.#sched.clearTimer();
    s.stdout.flush();
    s.stderr.flush();
    const exited = e instanceof TideExit;
    let told = false;
    for (const rec of s.calls.values()) {
      rec.cleanup();
      rec.reject(e);
      told = true;
    }
    s.calls.clear();
    this.#hostOps.abandon();
    s.deferred = [];
    this.#closeExtra();
    if (s.main) {
      if (exited) s.main.resolve(e.code);
      else s.main.reject(e);
      s.main = null;
      told = true;
    }
    if (!told && !exited) {
      s.stderr.write(utf8(`tideloop: the wasm instance failed and is finished: ${e?.message ?? e}\n`));
      s.stderr.flush();
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
    this.#hostOps.fns.register(name, fn);
    return this;
  }

  /** Remove host function `name`; true if there was one. A built-in of the same
   * name ("tideloop:*") is used again afterwards. */
  unregister(name) {
    return this.#hostOps.fns.unregister(name);
  }

  /**
   * Call the C coroutine exported under `name` (tide_export_task) with args.
   * Resolves with its result; rejects with a TideError for its error; aborting
   * signal cancels the task, and once it has ended cancelled the call rejects
   * with signal.reason (unless the task handled the cancellation and ended
   * otherwise).
   */
  call(name, args = [], { signal } = {}) {
    return this.#calls.call(name, args, signal);
  }

  /**
   * Run the module's TIDE_MAIN setup with argv (argv[0] is the program name;
   * default: options.args) and resolve with the exit code once the loop has no
   * referenced work left. Aborting signal closes the runtime and rejects with
   * signal.reason.
   */
  main(argv = this.#args, { signal } = {}) {
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      return Promise.reject(new TypeError('tideloop: main(): signal must be an AbortSignal'));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const done = this.#calls.main(argv);
    if (signal === undefined) return done;
    /* Aborting stops the program the only way one can be stopped from outside:
     * the runtime closes (C's tasks are cancelled, host functions aborted),
     * and main() rejects with the reason at once. */
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        reject(signal.reason);
        /* An abort listener may run inside an import (an output sink): the
         * close waits until wasm has returned, as calls into it must. */
        if (this.#s.depth > 0) this.#s.deferred.push(() => this.close());
        else this.close();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      done.then((code) => {
        signal.removeEventListener('abort', onAbort);
        resolve(code);
      }, (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? signal.reason : e);
      });
    });
  }

  /**
   * Stop driving the loop and free it: pending calls and main() reject with
   * ECANCELED, host functions in flight see their signal abort, C tasks are
   * cancelled and given a few ticks to finish. Returns 0, or TIDE_EBUSY if C
   * work would not finish (the loop's memory then goes with the instance).
   * Idempotent.
   */
  close() {
    const s = this.#s;
    if (s.closed) return this.#closeRc;
    s.closed = true;
    const sched = this.#sched;
    const hostOps = this.#hostOps;
    sched.clearTimer();
    const cancelled = () => new TideError(errors.ECANCELED, 'the runtime was closed');
    const callIds = [...s.calls.keys()];
    for (const rec of s.calls.values()) {
      rec.cleanup();
      rec.reject(cancelled());
    }
    s.calls.clear();
    if (s.main) {
      s.main.reject(cancelled());
      s.main = null;
    }
    if (s.dead || s.loop === 0) {
      this.#closeExtra();
      return (this.#closeRc = 0);
    }
    /* Host functions in flight: abort them, and tell C they were cancelled. */
    for (const rec of hostOps.unsettled()) {
      const c = rec.controller;
      rec.aborted = true;
      hostOps.settle(rec, false, cancelled());
      if (c) s.deferred.push(() => c.abort());
    }
    let rc;
    try {
      rc = sched.enter((x) => x.tide_js_loop_free(s.loop));
      if (rc === errors.EBUSY) {
        for (const id of callIds) sched.enter((x) => x.tide_js_cancel(s.loop, id));
        for (let i = 0; i < CLOSE_TICKS && rc === errors.EBUSY; i++) {
          const r = sched.tickOnce();
          for (const rec of hostOps.unsettled()) hostOps.settle(rec, false, cancelled());
          rc = sched.enter((x) => x.tide_js_loop_free(s.loop));
          /* r: the tick's answer (ABI.md): its timeout is (r >> 1) - 1. */
          if ((r < 0 || (r >> 1) !== 1) && hostOps.queued === 0) break;
        }
      }
    } catch {
      rc = 0; /* the instance died on the way: nothing of it is left to free */
    }
    if (rc === 0) s.loop = 0;
    hostOps.abandon();
    /* After the loop: C's cancelled operations have aborted their signals, so
     * what is left (sockets C never closed, servers) goes here. */
    this.#closeExtra();
    s.stdout.flush();
    s.stderr.flush();
    return (this.#closeRc = rc);
  }

  #closeExtra() {
    try {
      this.#extra?.close?.();
    } catch (e) {
      reportUncaught(e);
    }
  }

  /** True once close() was called. */
  get closed() {
    return this.#s.closed;
  }

  /** Low-level escape hatch for tests: the raw wasm exports. */
  get _exports() {
    return this.#s.exports;
  }

  /** Low-level escape hatch for tests: the C loop pointer (0 once freed). */
  get _loop() {
    return this.#s.loop;
  }

  /** Low-level: JS-side bookkeeping sizes (host ops in flight, queued
   * completions, calls in flight), for leak tests. */
  get _pending() {
    const s = this.#s;
    const h = this.#hostOps;
    return { ops: h.inFlight, completions: h.queued, calls: s.calls.size };
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

  /** Low-level: the adapter's children (Node: spawned and not yet reported to
   * C by a wait), for leak tests; null where there are none (a browser). */
  get _processes() {
    return this.#extra?.processCounts?.() ?? null;
  }
}

/* Disposal, for `using rt = await load(...)`: under Symbol.dispose where the
 * engine has it, and always under Symbol.for('Symbol.dispose'), which is where
 * Babel's transform of `using` (and polyfills that make the symbol a
 * registered one) look in an engine without it. Looked up once, here: a
 * polyfill must be installed before this module is imported. close() is the
 * form that works everywhere. */
for (const key of new Set([Symbol.dispose, Symbol.for('Symbol.dispose')])) {
  if (typeof key !== 'symbol') continue;
  Object.defineProperty(Runtime.prototype, key, {
    value: function dispose() {
      this.close();
    },
    writable: true,
    configurable: true,
    enumerable: false,
  });
}
