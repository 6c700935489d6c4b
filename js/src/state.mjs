// state.mjs: what the parts of one runtime share. runtime.mjs makes one
// RuntimeState per runtime and hands it to the scheduler (scheduler.mjs), the
// host operations (host-ops.mjs), the exported calls (calls.mjs) and the
// imports (imports.mjs). Private #fields cannot cross modules, so what more than
// one part reads or writes lives here, as plain fields of one object whose shape
// is fixed at construction: a hot path reads them through the one reference it
// holds, and nothing here allocates per host call, per completion or per tick.
// What only one part uses stays private to that part. Also the two error
// helpers every part needs.

import { TideExit } from './errors.mjs';

export class RuntimeState {
  constructor(stats, stdout, stderr) {
    /** The counters (rt.stats, the same object). */
    this.stats = stats;
    /** Line buffers for the runtime's own messages and WASI output. */
    this.stdout = stdout;
    this.stderr = stderr;
    /** The instance's exports, once instantiated. */
    this.exports = null;
    /** The C loop pointer (u32); 0 once freed. */
    this.loop = 0;
    this.closed = false;
    /** The TideExit or trap that finished the instance. */
    this.dead = null;
    /** Calls into wasm on the stack (Scheduler.enter). */
    this.depth = 0;
    /** Work an import asked for, run once no wasm frame is on the stack
     * (Scheduler.enter): host operations to start (HostOp) and functions. */
    this.deferred = [];
    /** Exported-coroutine calls in flight: call id -> {resolve, reject,
     * cleanup}. */
    this.calls = new Map();
    /** {resolve, reject} while rt.main() is pending. */
    this.main = null;
  }
}

/* The clock (perf.now(): performance.now()), through the object itself: the
 * global `performance` is an accessor (Node defines it lazily; browsers as a
 * replaceable attribute), and looking it up costs more than the clock read,
 * on every tick. */
export const perf = globalThis.performance;
export const nowMs = () => perf.now();

/* An error a caller cannot be handed (it happened in a macrotask): report it the
 * way the engine reports an uncaught error, without unwinding our own code. */
export function reportUncaught(e) {
  queueMicrotask(() => {
    throw e;
  });
}

/* True for what leaves a wasm instance in an unknown state when it unwinds
 * through wasm frames: exit() (TideExit), a trap, a wasm stack overflow
 * (RangeError). Errors our own JS throws around a call (TypeError, TideError)
 * leave the instance intact. */
export function unwound(e) {
  return e instanceof TideExit || e instanceof WebAssembly.RuntimeError || e instanceof RangeError;
}
