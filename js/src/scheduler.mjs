// scheduler.mjs: how a runtime calls into wasm and drives its loop without ever
// blocking. Every call into wasm goes through enter(), and nothing calls into
// wasm from inside an import: work an import triggers (starting a host
// function, aborting a signal) is queued in state.deferred and run once the
// outermost call has returned (#drain). The loop runs one tick at a time
// (tide_js_tick, which first takes the queued completions to C: host-ops.mjs
// deliver()), from a macrotask the adapter queues (ensureTick) or, for a lone
// round trip, from a microtask (kick), then one host timer waits for the next
// deadline (#armTimer). The scheduler also notices when the loop has gone idle
// for a pending rt.main().

import { errorName } from './errors.mjs';
import { utf8 } from './values.mjs';
import { HostOp } from './host-ops.mjs';
import { reportUncaught, unwound } from './state.mjs';

/* How long, at most, ticks may run from microtasks before the host lets the
 * engine's event loop have a turn (see kick): a window of this many ms opens
 * only after a macrotask of the host's own ran, and while it is open a
 * completion or a call is handled in a microtask right away, not a macrotask
 * later. Timers, I/O and rendering then wait at most this long (plus the tick
 * that started last, and what host functions themselves do) for their turn.
 * 1 ms: in Chromium a C <-> JS ping-pong left nested setTimeout(0)s 157 turns
 * a second with 1 ms, 120 with 2 ms, 102 with 4 ms (220 with a macrotask per
 * tick), at 60 frames a second and the same round trips either way. */
const INLINE_MS = 1;

/* The microtask a tick runs from (kick). Not queueMicrotask: Node wraps each
 * of those in an async resource, which costs more than the rest of a hop. */
const RESOLVED = Promise.resolve();

export class Scheduler {
  #s; /* the RuntimeState */
  /* The adapter: queueTick, setTimer/clearTimer/refTimer. */
  #a;
  /* What finishes the runtime after a trap or exit() (Runtime #die). */
  #die;
  /* The HostOps: started from #drain, their completions delivered by a tick.
   * Set once by the runtime, right after both are made. */
  hostOps = null;
  #draining = false;

  #tickScheduled = false;
  #running = false; /* inside #runTick */
  /* Ticks from microtasks (kick): one is queued; when the current window
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

  constructor(state, adapter, die) {
    this.#s = state;
    this.#a = adapter;
    this.#die = die;
  }

  /* Run fn(exports) as one call into wasm. When the outermost call returns, the
   * work imports queued runs (#drain). A trap or exit() finishes the runtime. */
  enter(fn) {
    const s = this.#s;
    if (s.dead) throw s.dead;
    s.depth++;
    try {
      return fn(s.exports);
    } catch (e) {
      /* exit() and traps (including a wasm stack overflow, a RangeError) unwound
       * wasm frames: the instance is finished. Errors our own JS threw around the
       * call (out of wasm memory for an argument, say) leave it intact. */
      if (unwound(e)) this.#die(e);
      throw e;
    } finally {
      s.depth--;
      if (s.depth === 0 && !s.dead) this.#drain();
    }
  }

  /* Run what imports queued: host operations to start (HostOp) and
   * functions. */
  #drain() {
    const s = this.#s;
    if (s.deferred.length === 0) return;
    if (this.#draining) return; /* an outer #drain is already looping */
    this.#draining = true;
    try {
      while (s.deferred.length && !s.dead) {
        const batch = s.deferred;
        s.deferred = [];
        for (let i = 0; i < batch.length; i++) {
          const f = batch[i];
          try {
            if (f instanceof HostOp) this.hostOps.start(f);
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
  ensureTick() {
    const s = this.#s;
    if (this.#tickScheduled || s.closed || s.dead || s.loop === 0) return;
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
  kick() {
    const s = this.#s;
    if (this.#tickScheduled || this.#inlineQueued || s.closed || s.dead ||
      s.loop === 0) return;
    /* Decided now, not in the microtask: the macrotask tick, if it is that,
     * is queued now as it always was, so it still runs before any macrotask
     * JS queues after this point (rt.call(); setImmediate(f): the call's
     * first step runs before f, either way). */
    if (s.ops.size !== 0 || !this.#mayInline()) {
      /* C waits for other host operations too (their completions join this
       * one in the macrotask tick, see above), or it is not fair now. */
      this.ensureTick();
      return;
    }
    this.#inlineQueued = true;
    RESOLVED.then(this.#inlineFn);
  }

  #runInline() {
    const s = this.#s;
    if (this.#tickScheduled || s.closed || s.dead || s.loop === 0) return;
    /* Never inside a call into wasm, a host function (#drain) or a tick. A
     * microtask runs with an empty stack, so this is only a safeguard. */
    if (s.depth === 0 && !this.#draining && !this.#running) this.#runTick();
    else this.ensureTick();
  }

  /* Whether a tick may run from a microtask queued now (kick). */
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
    const s = this.#s;
    this.hostOps.deliver(x);
    s.stats.ticks++;
    return x.tide_js_tick(s.loop);
  };
  #hasRef = 0;
  #timeoutBody = (x) => {
    const loop = this.#s.loop;
    const t = x.tide_js_next_timeout(loop);
    this.#hasRef = t > 0 ? x.tide_js_has_ref(loop) : 0;
    return t;
  };

  #runTick() {
    const s = this.#s;
    this.#tickScheduled = false;
    if (s.closed || s.dead || s.loop === 0) return;
    if (this.#running) {
      /* Never re-entrant (nothing should get here): run it afterwards. */
      this.ensureTick();
      return;
    }
    let r;
    let t;
    let ref;
    this.#running = true;
    try {
      r = this.enter(this.#tickBody);
      /* Host functions started by that tick ran in #drain; a synchronous one has
       * already queued its completion (and asked for the next tick). The
       * keep-alive matters only for a timer. */
      t = this.enter(this.#timeoutBody);
      ref = this.#hasRef;
    } catch (e) {
      if (!s.dead) reportUncaught(e);
      return;
    } finally {
      this.#running = false;
    }
    if (r < 0) s.stderr.write(utf8(`tideloop: tide_js_tick failed: ${errorName(r)}\n`));
    if (s.closed) return;
    if (t === 0) this.ensureTick();
    else if (s.completions.size) this.kick();
    if (t > 0) this.#armTimer(t, ref === 1);
    else if (t < 0) this.clearTimer();
    /* A pending rt.main() resolves once the loop has no referenced work left
     * (the tick returned 0) and nothing is on its way to it: no tick queued,
     * no host operation or completion in flight. */
    if (s.main && r === 0 && !this.#tickScheduled && !this.#inlineQueued &&
      s.ops.size === 0 && s.completions.size === 0) {
      const main = s.main;
      s.main = null;
      let code;
      try {
        code = this.enter((x) => x.tide_js_exit_code(s.loop));
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
    this.clearTimer();
    this.#timerDue = due;
    this.#timerRef = ref;
    this.#s.stats.timers++;
    this.#timer = this.#a.setTimer(this.#timerFn, Math.ceil(ms), ref);
  }

  clearTimer() {
    if (this.#timer !== null) {
      this.#a.clearTimer(this.#timer);
      this.#timer = null;
    }
  }
}
