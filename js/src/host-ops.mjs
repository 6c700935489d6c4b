// host-ops.mjs: host operations, C calling JS. C's tide_host_call() reaches the
// `host_start` import, which records the operation (hostStart) and
// queues it; once wasm has returned, the scheduler starts it (start): the
// registered function, else the runtime's built-in of that name, gets the
// decoded arguments and a last `{signal}`. Every operation completes exactly
// once: settle() marks it, whether the function returned, threw or its promise
// settled, and hands its completion to the loop's completion ring (ring.mjs),
// which the next tick takes to C with no call of its own; a completion for an
// operation C cancelled (hostCancel) is dropped or refused, never delivered
// twice, and the function's signal aborts. The usual end of a round trip (the
// only operation in flight settles with a number or nothing) skips the ring:
// resolved() hands it to the tick that takes it to C (tide_js_tick_settle).
//
// This is the hot half of a C -> JS -> C round trip, so nothing here allocates
// per operation on the common path but the function's options: records are
// pooled and carry their promise handlers with them, a function is found by
// the id C gives its name, numbers and nones come as the import's parameters,
// and a record is found by its op id's slot, not through a map. Code here runs
// slowly until the engine has compiled it (thousands of round trips), and what
// costs then is each property read and call: hence fields read once into
// locals, one `holds` field for three flags, and no array push/pop.

import { TideError, errors } from './errors.mjs';
import { utf8 } from './values.mjs';
import { decodeArgs } from './wire.mjs';
import { reportUncaught } from './state.mjs';
import { CompletionRing, KIND_NONE, KIND_NUMBER } from './ring.mjs';
import { HostFns } from './host-fns.mjs';
import { NO_TICK } from './scheduler.mjs';

/* Op ids are slot << 15 | generation (src/hostops/ids.c): a live op is found
 * by its slot. */
const SLOT_SHIFT = 15;

/* At most this many records are kept for reuse. */
const POOL_MAX = 4096;

/* The largest name id C gives (src/backend/js/imports.c, NAME_IDS). */
const MAX_NAME_ID = 32;

/** What one of the runtime's own host functions returns to complete later,
 * through options._settle, instead of a promise (see HostCallOptions). */
export const LATER = Symbol('tideloop.later');

function isPromiseLike(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') &&
    typeof v.then === 'function';
}

/* A record's life: QUEUED (deferred, not started), RUNNING (the function was
 * called; its promise may be pending), SETTLED (its completion waits for C: in
 * the ring or in the pending list), and back to the pool once C has taken the
 * completion, or once C cancelled it and no promise of the function is pending
 * any more (a record is never reused while a handler of its may still run). */
const IDLE = 0;
const QUEUED = 1;
const RUNNING = 2;
const SETTLED = 3;

/* HostOp.holds: besides HELD_BY_RING (ring.mjs). */
const HELD_PROMISE = 1;
const HELD_QUEUE = 4;

/* A host operation C started. Pooled: `onOk`/`onErr` are made once per
 * record, not per operation. */
export class HostOp {
  constructor(ops) {
    this.op = 0;
    this.state = IDLE;
    this.name = '';
    this.entry = null; /* its name's entry (host-fns.mjs) */
    /* Arguments: up to three numbers or nones live in a0..a2 (n of them),
     * anything else in `args` (an array, n = -1). */
    this.n = 0;
    this.a0 = undefined;
    this.a1 = undefined;
    this.a2 = undefined;
    this.args = null;
    this.controller = null; /* made on the first read of `signal` */
    this.options = null; /* the HostCallOptions the function got */
    this.aborted = false; /* C cancelled it, or dropped its completion */
    this.cancelled = false; /* C no longer waits for it */
    /* Who else still holds the record, so that it is not reused: HELD_PROMISE
     * (a promise of the function is pending: its handler brings it back),
     * HELD_BY_RING (ring.mjs: its completion is in the ring, not yet taken)
     * and HELD_QUEUE (in state.deferred, waiting for start()). */
    this.holds = 0;
    this.nextFree = null; /* the next idle record (HostOps' pool) */
    /* options._whenCancelled: what to run if C cancels it. */
    this.onCancel = null;
    this.onCancelArg = undefined;
    this.ops = ops;
    this.onOk = (v) => ops.resolved(this, v);
    this.onErr = (e) => {
      this.holds &= ~HELD_PROMISE;
      ops.settle(this, false, e, true);
    };
  }
}

/* What an ended operation's signal is: its controller if one was made, and
 * whether it was aborted. ENDED and ENDED_ABORTED stand for one with no
 * controller yet, so that most operations end without an allocation. */
class Ended {
  constructor(controller, aborted) {
    this.controller = controller;
    this.aborted = aborted;
  }
}
const ENDED = new Ended(null, false);
const ENDED_ABORTED = new Ended(null, true);

/* The last argument a host function gets: `{signal}`. The AbortController is
 * made only if the function reads `signal`: making one costs microseconds in
 * V8, and most synchronous functions never look at it. A read after C
 * cancelled the operation gets an already aborted signal. A class, not an
 * object literal with a getter: V8 builds such a literal on a slow path that
 * costs more than the rest of a host call. `signal` is an (enumerable)
 * accessor of the prototype. One per call (a function may keep it), so that a
 * read after the record was reused cannot reach another operation's signal:
 * it reads the live record (a HostOp) until the operation ends, then an
 * Ended. One field: this is made on every host call. */
class HostCallOptions {
  #src;
  constructor(rec) {
    this.#src = rec;
  }

  /* Internal, for the runtime's own functions that complete from an event
   * handler on every request of a busy socket (net.mjs fd_wait): the
   * function returns LATER and calls this once with its outcome, which
   * spares a promise, its resolvers, its reaction and a microtask per call.
   * A call after the operation ended (C cancelled it) changes nothing. Not
   * part of the public API. */
  _settle(ok, value) {
    const rec = this.#src;
    if (rec instanceof Ended || (rec.holds & HELD_PROMISE) === 0) return;
    rec.holds &= ~HELD_PROMISE;
    rec.ops.settle(rec, ok, value);
  }

  /* Internal, for the runtime's own functions that wait on every request of
   * a busy socket (net.mjs fd_wait): fn(arg) runs, outside wasm, if C cancels
   * the operation, as the signal's abort would, without the cost of an
   * AbortController per call (arg spares a closure per call). Kept on the
   * record, which drops it when the operation ends. Not part of the public
   * API. */
  _whenCancelled(fn, arg) {
    const rec = this.#src;
    if (rec instanceof Ended) return;
    rec.onCancel = fn;
    rec.onCancelArg = arg;
  }

  get signal() {
    let src = this.#src;
    if (src === ENDED || src === ENDED_ABORTED) this.#src = src = new Ended(null, src.aborted);
    if (src.controller === null) {
      src.controller = new AbortController();
      if (src.aborted) src.controller.abort();
    }
    return src.controller.signal;
  }

  /* The record goes back to the pool: keep what this operation's signal is. */
  end(rec) {
    if (rec.controller !== null) this.#src = new Ended(rec.controller, rec.aborted);
    else this.#src = rec.aborted ? ENDED_ABORTED : ENDED;
  }
}
Object.defineProperty(HostCallOptions.prototype, 'signal', { enumerable: true });

/* The host operations of one runtime. */
export class HostOps {
  #s; /* the RuntimeState */
  #sched; /* the Scheduler: kick() takes a completion to C */
  #rt; /* the Runtime, for its _onHostCall test hook */
  /** The host functions by name (rt.register, and the runtime's own). */
  fns;
  /* Live records by slot (an array indexed by the op id's slot), and idle ones. */
  #bySlot = [];
  /* Idle records, linked through nextFree (no array push and pop: calls,
   * costly until the JIT has compiled this), at most POOL_MAX. */
  #free = null;
  #freeCount = 0;
  /* Name entries (host-fns.mjs) by the id C gives each name. */
  #byId = [];
  /** Where completions go (ring.mjs); it also keeps the views of memory.
   * Read-only outside: the scheduler reads its `queued` after each tick. */
  ring;

  constructor(state, sched, rt, builtins) {
    this.#s = state;
    this.#sched = sched;
    this.#rt = rt;
    this.fns = new HostFns(builtins);
    this.ring = new CompletionRing(state);
  }

  /** Where the loop's ring is (tide_js_ring), once the loop exists. */
  attachRing(ptr) {
    this.ring.attach(ptr);
  }

  /** Host operations C waits for whose function has not settled. */
  inFlight = 0;
  /** Completions JS holds that C has not taken (in the ring or pending). */
  get queued() {
    return this.ring.queued;
  }

  /** The operations C waits for whose function has not settled (for close):
   * queued or running. */
  unsettled() {
    const out = [];
    for (const rec of this.#bySlot) {
      if (rec !== undefined && (rec.state === QUEUED || rec.state === RUNNING)) out.push(rec);
    }
    return out;
  }

  /* Back to the pool, unless a handler of its may still run (then the handler
   * brings it back). An arrow, so that the ring calls it directly (taken). */
  #release = (rec) => {
    const slot = rec.op >>> SLOT_SHIFT;
    if (this.#bySlot[slot] === rec) this.#bySlot[slot] = undefined;
    rec.state = IDLE;
    /* Its handler, taken() or start() brings it back. */
    if (rec.holds !== 0) return;
    /* Only what a later operation would see: #record sets the rest. */
    const options = rec.options;
    if (options !== null) {
      options.end(rec);
      rec.options = null;
    }
    if (rec.onCancel !== null) {
      rec.onCancel = null;
      rec.onCancelArg = undefined;
    }
    rec.args = null;
    rec.controller = null;
    rec.aborted = false;
    rec.cancelled = false;
    if (this.#freeCount < POOL_MAX) {
      rec.nextFree = this.#free;
      this.#free = rec;
      this.#freeCount++;
    }
  };

  #find(op) {
    const rec = this.#bySlot[op >>> SLOT_SHIFT];
    return rec !== undefined && rec.op === op && rec.state !== IDLE ? rec : undefined;
  }

  /** The `host_start` import (ABI.md): C started operation op. An arrow,
   * so that it is the import itself, with no wrapper between wasm and this.
   * An exception must never unwind through C from here (C would be left
   * half-way through a function): it is reported as uncaught instead. */
  hostStart = (loop, op, nameId, namePtr, nameLen, argsPtr, argsLen, shape, a0, a1, a2) => {
    const s = this.#s;
    if (s.loop === 0 || loop >>> 0 !== s.loop) return;
    try {
      this.#record(op >>> 0, nameId >>> 0, namePtr >>> 0, nameLen >>> 0, argsPtr >>> 0,
        argsLen >>> 0, shape, a0, a1, a2);
    } catch (e) {
      reportUncaught(e);
    }
  };

  #record(op, nameId, namePtr, nameLen, argsPtr, argsLen, shape, a0, a1, a2) {
    const s = this.#s;
    s.stats.hostCalls++;
    const slot = op >>> SLOT_SHIFT;
    const live = this.#bySlot[slot];
    if (live !== undefined && live.op === op && live.state !== IDLE) {
      /* C never reuses a live id (generations); if it did, keep the first. */
      s.stderr.write(utf8(`tideloop: host_start reused live operation id ${op}\n`));
      return;
    }
    let rec = this.#free;
    if (rec !== null) {
      this.#free = rec.nextFree;
      rec.nextFree = null;
      this.#freeCount--;
    } else {
      rec = new HostOp(this);
    }
    rec.op = op;
    rec.state = QUEUED;
    this.#bySlot[slot] = rec;
    this.inFlight++;
    /* The name: known by its id after the first time (C names each function
     * by a small id: ABI.md, "host_start"). */
    const byId = nameId !== 0 && nameId <= MAX_NAME_ID;
    let entry = byId ? this.#byId[nameId] : undefined;
    let bad = null;
    if (entry === undefined) {
      entry = this.#entryAt(namePtr, nameLen);
      if (entry === null) bad = new TideError(errors.EINVAL, 'host_start: name outside memory');
      else if (byId) this.#byId[nameId] = entry;
    }
    rec.entry = entry;
    rec.name = entry !== null ? entry.name : '';
    /* The arguments: up to three numbers or nones come as parameters (the
     * shape says how many, and which are none), anything else as a list. */
    if (shape >= 0 && shape < 32) {
      rec.n = shape & 3;
      rec.a0 = (shape & 4) === 0 ? a0 : undefined;
      rec.a1 = (shape & 8) === 0 ? a1 : undefined;
      rec.a2 = (shape & 16) === 0 ? a2 : undefined;
    } else if (bad === null) {
      bad = this.#readArgs(rec, argsPtr, argsLen);
    }
    if (this.#rt._onHostCall !== undefined) {
      try {
        this.#rt._onHostCall(op, rec.name, argsLen, shape);
      } catch (e) {
        reportUncaught(e);
      }
    }
    if (bad !== null) {
      this.settle(rec, false, bad);
      return;
    }
    if (s.closed) {
      this.settle(rec, false, new TideError(errors.ECANCELED, 'the runtime is closing'));
      return;
    }
    /* Not from inside the import: the function may call back into wasm, and
     * C may still cancel the operation in this turn (then it never starts).
     * The scheduler's #drain starts a HostOp queued here. */
    rec.holds = HELD_QUEUE;
    const q = s.deferred;
    q[q.length] = rec; /* not push(): a call, costly until the JIT has compiled this */
  }

  /* The entry of the name at [ptr, ptr + len), or null if that is outside
   * memory. */
  #entryAt(ptr, len) {
    this.ring.views();
    const mem = this.ring.u8;
    if (ptr + len > mem.length) return null;
    return this.fns.entryAt(mem, ptr, len);
  }

  /* rec's arguments from the value list at [ptr, ptr + len): null, or the
   * error that refuses the operation. */
  #readArgs(rec, ptr, len) {
    this.ring.views();
    const mem = this.ring.u8;
    if (ptr + len > mem.length) {
      return new TideError(errors.EINVAL, 'host_start: arguments outside memory');
    }
    try {
      rec.args = decodeArgs(mem.subarray(ptr, ptr + len), 0, len);
      rec.n = -1;
      return null;
    } catch (e) {
      return e;
    }
  }

  start(rec) {
    rec.holds &= ~HELD_QUEUE;
    if (rec.state !== QUEUED) {
      this.#release(rec); /* cancelled before it started */
      return;
    }
    rec.state = RUNNING;
    const e = rec.entry;
    const fn = e.ver === this.fns.ver ? e.fn : this.fns.fnOf(e);
    if (fn === undefined) {
      this.settle(rec, false, new TideError(errors.ENOENT,
        `no host function is registered under the name "${rec.name}"`));
      return;
    }
    const options = new HostCallOptions(rec);
    rec.options = options;
    let result;
    try {
      /* Not fn(...a, options) for the usual arities: a spread call costs more. */
      switch (rec.n) {
        case 0:
          result = fn(options);
          break;
        case 1:
          result = fn(rec.a0, options);
          break;
        case 2:
          result = fn(rec.a0, rec.a1, options);
          break;
        case 3:
          result = fn(rec.a0, rec.a1, rec.a2, options);
          break;
        default:
          result = fn(...rec.args, options);
      }
    } catch (e) {
      this.settle(rec, false, e);
      return;
    }
    if (result === LATER) {
      rec.holds |= HELD_PROMISE; /* options._settle completes it */
    } else if (result instanceof Promise) {
      rec.holds |= HELD_PROMISE;
      result.then(rec.onOk, rec.onErr);
    } else if (isPromiseLike(result)) {
      rec.holds |= HELD_PROMISE;
      Promise.resolve(result).then(rec.onOk, rec.onErr);
    } else {
      this.settle(rec, true, result);
    }
  }

  /** The reaction to the fulfilment of the function's promise (HostOp
   * onOk). A round trip's usual end takes the short way: when this is the
   * only operation C waits for, nothing else waits to go to C, its value is
   * a number or nothing, and the scheduler may tick now, the tick itself
   * carries the completion (tide_js_tick_settle), with no ring entry and no
   * other call in between. Anything else goes through settle(). */
  resolved(rec, v) {
    rec.holds &= ~HELD_PROMISE;
    if (rec.state === RUNNING && this.inFlight === 1 && this.ring.queued === 0) {
      const kind = typeof v === 'number' ? KIND_NUMBER
        : v === undefined || v === null ? KIND_NONE : -1;
      const now = kind < 0 ? NO_TICK : this.#sched.tickNow();
      if (now !== NO_TICK) {
        const op = rec.op;
        rec.state = SETTLED;
        this.inFlight = 0;
        this.#s.stats.completions++;
        this.#release(rec);
        this.#sched.tickSettling(now, op, kind, kind === KIND_NUMBER ? v : 0);
        return;
      }
    }
    this.settle(rec, true, v, true);
  }

  /* The one place an operation completes on the JS side: exactly once, and only
   * while C still waits for it. The completion goes to the ring at once when
   * it can (a number or nothing, outside wasm, nothing waiting before it),
   * else with the next tick (deliver); either way the next tick takes it, so
   * many completions arriving before it cost one tick. fromReaction: called
   * from the reaction to the function's promise (onOk, onErr), where the
   * stack is empty, so the scheduler may run that tick right away (kick). */
  settle(rec, ok, value, fromReaction = false) {
    if (rec.state !== QUEUED && rec.state !== RUNNING) {
      /* C cancelled it meanwhile: the record waited only for this handler. */
      if (rec.state === IDLE && rec.cancelled) this.#release(rec);
      return;
    }
    rec.state = SETTLED;
    this.inFlight--;
    const s = this.#s;
    if (s.dead || s.loop === 0) {
      this.#release(rec);
      return;
    }
    this.ring.add(rec, ok, value);
    this.#sched.kick(fromReaction);
  }

  hostCancel(op) {
    const s = this.#s;
    /* Whatever JS had for it is dropped: C already treats the op as cancelled
     * and refuses a completion (a stale id, in the ring or not). A value the
     * function had already returned is dropped with it, so its signal aborts
     * all the same: a function whose value holds something (an accepted
     * connection, a new socket) learns that C never got it, and can put it
     * back or free it. */
    const rec = this.#find(op);
    if (rec === undefined) return;
    if (rec.state === SETTLED) {
      /* A completion C will never take (one already in the ring C refuses as
       * stale; taken() brings the record back then). */
      this.ring.drop(rec);
    } else {
      this.inFlight--;
    }
    rec.aborted = true;
    rec.cancelled = true;
    const c = rec.controller;
    if (c) s.deferred.push(() => c.abort());
    const hook = rec.onCancel;
    if (hook !== null) {
      const arg = rec.onCancelArg;
      rec.onCancel = null;
      s.deferred.push(() => hook(arg));
    }
    this.#release(rec);
  }

  /** Before a tick (x: the exports, inside a call into wasm): the
   * completions that wait go to the ring. */
  deliver(x) {
    this.ring.deliver(x, this.#release);
  }

  /** C took every completion in the ring (a tick ran): their records go back
   * to the pool. */
  taken() {
    this.ring.taken(this.#release);
  }

  /** Drop everything (the instance is finished): every live function's signal
   * aborts. */
  abandon() {
    for (const rec of this.#bySlot) {
      if (rec === undefined || rec.state === IDLE) continue;
      rec.aborted = true;
      rec.cancelled = true;
      rec.state = IDLE;
      rec.controller?.abort();
      const hook = rec.onCancel;
      rec.onCancel = null;
      if (hook !== null) hook(rec.onCancelArg);
    }
    this.#bySlot = [];
    this.ring.clear();
    this.inFlight = 0;
  }
}
