// scheduler.mjs: how a runtime calls into wasm and drives its loop without ever
// blocking. Every call into wasm goes through enter(), and nothing calls into
// wasm from inside an import: work an import triggers (starting a host
// function, aborting a signal) is queued in state.deferred and run once the
// outermost call has returned (#drain). The loop runs in ticks (tide_js_tick,
// which first takes the completions waiting in the ring: host-ops.mjs), in
// time slices: ticks follow each other directly, from a promise reaction, a
// microtask or a macrotask, while the slice lasts, and when it is spent the
// host yields to the engine's event loop (ensureTick) so that rendering,
// input, timers and I/O get their turn. One host timer waits for the next
// deadline (#armTimer). The scheduler also notices when the loop has gone idle
// for a pending rt.main().

import { errorName } from './errors.mjs';
import { utf8 } from './values.mjs';
import { perf, reportUncaught, unwound } from './state.mjs';

/* The time slice: how long ticks may run back to back (C work that keeps
 * itself ready, completions and calls arriving from JS) before the host lets
 * the engine's event loop have a turn. A slice starts when a macrotask of the
 * host's own runs (a tick, the host timer, a marker: see #mayInline), so it
 * never begins inside another slice's chain of microtasks. 4 ms keeps a frame
 * (16.7 ms at 60 Hz) mostly the engine's while C is busy, and is long enough
 * that the cost of the yield itself disappears in it. */
const SLICE_MS = 4;

/* A clock read costs 50-80 ns in a browser or in Node on a virtual machine
 * (bench/RESULTS.md, W5), as much as a fifth of a whole C -> JS -> C round
 * trip once compiled, so ticks that follow each other inside a slice do not
 * all read it (#clock): it is read again once the ticks since the last read
 * may have taken CHECK_MS, judged by the pace of the ticks before that read,
 * and at least every CHECK_EVERY ticks. So a slice ends at most about
 * CHECK_MS late, unless ticks suddenly grow much longer than they were (then
 * at most CHECK_EVERY ticks late). A macrotask of ours (the event loop turned,
 * for how long nobody knows) always reads it, and a tick given no time lets C
 * read the clock if it needs the time at all (ABI.md, "tide_js_tick"). */
const CHECK_MS = 1;
const CHECK_EVERY = 16;

/* tickNow()'s answer when no tick may run now (else the time, or -1 for a
 * tick that goes without a clock read). */
export const NO_TICK = -2;

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
  #sliceAt = -Infinity;
  #turned = true;
  #markerPending = false;
  #timer = null;
  #timerDue = 0;
  #timerRef = false;
  /* The clock reads (#clock): when the last was, how many ticks went since,
   * and how many more may go without one. */
  #readAt = 0;
  #sinceRead = 0;
  #skipReads = 0;
  #tickFn = () => {
    this.#turned = true;
    this.#runTick(true);
  };
  #timerFn = () => {
    this.#timer = null;
    this.#turned = true;
    if (!this.#tickScheduled) this.#runTick(true);
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
    this.#skipReads = 0; /* time went by, how much nobody knows */
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
    if (s.deferred.length === 0 || this.#draining) return; /* or an outer #drain loops */
    this.#draining = true;
    try {
      /* In order, including what the work itself queues; then emptied by
       * pops, which cost less than setting the length. */
      const q = s.deferred;
      for (let i = 0; i < q.length && !s.dead; i++) {
        const f = q[i];
        try {
          /* typeof, not instanceof HostOp: a check the unoptimised code
           * makes inline, where instanceof is a call. */
          if (typeof f === 'function') f();
          else this.hostOps.start(f);
        } catch (e) {
          reportUncaught(e);
        }
      }
      while (q.length !== 0) q.pop();
    } finally {
      this.#draining = false;
    }
  }

  /* The yield: a macrotask of the engine's (the adapter picks it: Node's
   * setImmediate; in a browser the best the engine has, see index.mjs), so
   * that everything else the engine has to do (render, take input, fire
   * timers, poll I/O) runs before the next slice. Ready C work that is left
   * when a slice is spent, and work that arrives when no slice is open, waits
   * for it, as asyncio's loop lets I/O in between iterations. */
  ensureTick() {
    const s = this.#s;
    if (this.#tickScheduled || s.closed || s.dead || s.loop === 0) return;
    this.#tickScheduled = true;
    this.#a.queueTick(this.#tickFn);
  }

  /* Work JS made ready (a completion, an exported-coroutine call or its
   * cancellation, the completions of synchronous host functions a tick
   * started) is taken to C at once when C waits for nothing else and a slice
   * is open, else with the macrotask tick above.
   *
   * At once: from the promise reaction that settled the operation
   * (fromReaction: HostOps calls from its handler of the function's promise),
   * when the stack is empty there (no call into wasm, no host function, no
   * tick on it), else from a microtask. A macrotask would cost a turn of the engine's
   * event loop, several times the rest of a C -> JS -> C round trip (bench
   * W5), and even a microtask is a hop a lone round trip need not take.
   *
   * Only when no other host operation is in flight: then no other completion
   * can join this one, and waiting buys nothing. With operations in flight
   * (a server's reads on many sockets, bench W6) the macrotask tick is
   * better: the completions of everything that happened meanwhile (every
   * socket Node's poll phase found ready) go to C in one tick, and C finds
   * more input already there when it reads again. Ticks from microtasks there
   * measured 30% fewer requests/s.
   *
   * Fair: only inside a slice (#mayInline), so ticks from reactions and
   * microtasks never hold the engine's event loop for longer than SLICE_MS
   * (plus the ticks that started without a clock read: CHECK_MS).
   * Completions that settle together still cost one tick: the first queues
   * it, the others find it queued. */
  kick(fromReaction = false) {
    const s = this.#s;
    if (this.#tickScheduled || this.#inlineQueued || s.closed || s.dead ||
      s.loop === 0) return;
    /* Decided now, not in the microtask: the macrotask tick, if it is that,
     * is queued now as it always was, so it still runs before any macrotask
     * JS queues after this point (rt.call(); setImmediate(f): the call's
     * first step runs before f, either way). */
    if (this.hostOps.inFlight !== 0) {
      /* C waits for other host operations too: their completions join this
       * one in the macrotask tick (see above). */
      this.ensureTick();
      return;
    }
    const now = this.#clock();
    if (!this.#mayInline(now)) {
      this.ensureTick(); /* no slice is open */
      return;
    }
    if (fromReaction && s.depth === 0 && !this.#draining && !this.#running) {
      this.#runTick(false, now);
      return;
    }
    this.#inlineQueued = true;
    RESOLVED.then(this.#inlineFn);
  }

  #runInline() {
    const s = this.#s;
    if (this.#tickScheduled || s.closed || s.dead || s.loop === 0) return;
    /* Never inside a call into wasm, a host function (#drain) or a tick. A
     * microtask runs with an empty stack, so this is only a safeguard. kick()
     * checked the slice (and counted the tick for the clock) already: the
     * tick goes without a read, and C reads the clock if it needs it. */
    if (s.depth === 0 && !this.#draining && !this.#running) this.#runTick(false, -1);
    else this.ensureTick();
  }

  /* The time now, or -1 for a tick that goes without a clock read (see
   * CHECK_MS): read when the ticks since the last read may have taken
   * CHECK_MS at the pace they went (time between ticks counts as theirs, so
   * waiting makes reads more frequent, never less), or when forced. */
  #clock(force = false) {
    if (this.#skipReads > 0 && !force) {
      this.#skipReads--;
      this.#sinceRead++;
      return -1;
    }
    const now = perf.now();
    const n = this.#sinceRead;
    const fit = n > 0 && now > this.#readAt ? (CHECK_MS * n) / (now - this.#readAt) : 1;
    this.#skipReads = fit >= CHECK_EVERY ? CHECK_EVERY - 1 : fit >= 2 ? Math.floor(fit) - 1 : 0;
    this.#readAt = now;
    this.#sinceRead = 1;
    return now;
  }

  /* Whether a slice is open for a tick that JS asks for now (kick), on the
   * time now (-1: no clock read, so the slice the last read found open is).
   * A slice opens only after a turn of the engine's event loop that we have
   * seen: a macrotask of ours ran (a tick, the host timer, or a marker: a
   * no-op macrotask queued along with ticks that run outside macrotasks). */
  #mayInline(now) {
    if (now >= 0 && now - this.#sliceAt >= SLICE_MS) {
      if (!this.#turned) {
        this.#skipReads = 0; /* until the next slice, every tick asks */
        return false;
      }
      this.#sliceAt = now;
    }
    this.#turned = false;
    /* The marker shows us the next turn as soon as it comes, so that a tick
     * after it (sparse completions, one per turn, say) may go at once again.
     * One at a time: a chain of reactions leaves it queued. */
    if (!this.#markerPending) {
      this.#markerPending = true;
      this.#a.queueTick(this.#markerFn);
    }
    return true;
  }

  /* What #runTick runs in wasm: made once, not a closure per tick. The
   * completions that could not go to the ring yet go first (HostOps
   * deliver), then one tide_js_tick takes the ring, runs the loop and answers
   * when to come back (ABI.md, "tide_js_tick"). */
  #now = 0; /* the time the tick about to run is given */
  #tickBody = (x) => {
    const s = this.#s;
    const hostOps = this.hostOps;
    hostOps.deliver(x);
    s.stats.ticks++;
    const r = x.tide_js_tick(s.loop, this.#now);
    hostOps.taken();
    return r;
  };

  /** Whether a tick may run right now, from the reaction to a host
   * function's promise, as kick(true) would run it: the time to give it (-1
   * for a tick that goes without a clock read), else NO_TICK. */
  tickNow() {
    const s = this.#s;
    if (this.#tickScheduled || this.#inlineQueued || s.closed || s.dead || s.loop === 0 ||
      s.depth !== 0 || this.#draining || this.#running) return NO_TICK;
    const now = this.#clock();
    return this.#mayInline(now) ? now : NO_TICK;
  }

  /** The usual end of a round trip, on its own short path: tick now
   * (tickNow() said when) with the completion of op, kind (ring.mjs
   * KIND_NONE or KIND_NUMBER) and num, which the tick itself carries
   * (tide_js_tick_settle), when the ring is empty: the same as enter() of a
   * #tickBody, without the closure, the ring's calls and the loop of
   * #runTick when C answers that it waits for the operation it just started
   * and nothing else (no timer, nothing queued). */
  tickSettling(now, op, kind, num) {
    const s = this.#s;
    let r;
    this.#running = true;
    s.depth++;
    try {
      s.stats.ticks++;
      r = s.exports.tide_js_tick_settle(s.loop, now, op, kind, num);
    } catch (e) {
      if (unwound(e)) this.#die(e);
      if (!s.dead) reportUncaught(e);
      return;
    } finally {
      s.depth--;
      if (s.depth === 0 && !s.dead) this.#drain();
      this.#running = false;
    }
    const h = this.hostOps;
    if (r === 1 && this.#timer === null && h.inFlight !== 0 && h.ring.queued === 0) return;
    this.#afterTick(r);
  }

  /** One tick now, outside the slices (close() uses it to let cancelled
   * tasks finish): the tick's answer (ABI.md, "tide_js_tick"). */
  tickOnce() {
    this.#now = perf.now();
    return this.enter(this.#tickBody);
  }

  /* Run ticks for the rest of the slice: while C has work ready now (the
   * answer's timeout is 0) or completions wait for it, tick again, until the
   * slice is spent; then what is left waits for the yield (ensureTick). A
   * tick from a macrotask starts a slice of its own. */
  #runTick(fromMacrotask = false, now = this.#clock(fromMacrotask)) {
    const s = this.#s;
    this.#tickScheduled = false;
    if (s.closed || s.dead || s.loop === 0) return;
    if (this.#running) {
      /* Never re-entrant (nothing should get here): run it afterwards. */
      this.ensureTick();
      return;
    }
    if (fromMacrotask) this.#sliceAt = now;
    const r = this.#tick(now);
    if (r !== undefined) this.#afterTick(r);
  }

  /* One tick on the time now: its answer, or undefined if it threw (then
   * reported, and the runtime is finished if the instance is). */
  #tick(now) {
    const s = this.#s;
    this.#running = true;
    try {
      this.#now = now;
      return this.enter(this.#tickBody);
    } catch (e) {
      if (!s.dead) reportUncaught(e);
      return undefined;
    } finally {
      this.#running = false;
    }
  }

  /* After a tick answered r: more ticks while the slice lasts, as long as C
   * has work ready now or completions wait that no operation in flight may
   * join (then they wait to be batched with those, as in kick); then what
   * the last answer asks for: a tick soon, the host timer, or the end of a
   * pending rt.main(). */
  #afterTick(r) {
    const s = this.#s;
    const h = this.hostOps;
    while (r >= 0 && !s.closed && ((r >> 1) === 1 || (h.inFlight === 0 && h.ring.queued !== 0))) {
      const now = this.#clock();
      if (now >= 0 && now - this.#sliceAt >= SLICE_MS) {
        this.#skipReads = 0;
        break;
      }
      r = this.#tick(now);
      if (r === undefined) return;
    }
    if (r < 0) {
      s.stderr.write(utf8(`tideloop: tide_js_tick failed: ${errorName(r)}\n`));
      return;
    }
    if (s.closed) return;
    const t = (r >> 1) - 1; /* -1: no timer; 0: work ready now; else ms */
    if (t === 0) this.ensureTick();
    else if (h.ring.queued !== 0) this.ensureTick();
    if (t > 0) this.#armTimer(t, (r & 1) === 1);
    else if (t < 0 && this.#timer !== null) this.clearTimer();
    /* A pending rt.main() resolves once the loop has no referenced work left
     * (the tick says the loop is not alive) and nothing is on its way to it:
     * no tick queued, no host operation or completion in flight. */
    if (s.main && (r & 1) === 0 && !this.#tickScheduled && !this.#inlineQueued &&
      h.inFlight === 0 && h.ring.queued === 0) {
      const main = s.main;
      s.main = null;
      let code;
      try {
        /* Also flushes C's stdio buffers: the program has ended. */
        code = this.enter((x) => x.tide_js_exit_code(s.loop));
      } catch (e) {
        main.reject(e);
        return;
      }
      /* As at a native exit, a last line without its newline is written now. */
      s.stdout.flush();
      s.stderr.flush();
      main.resolve(code);
    }
  }

  /* One host timer per loop, re-armed only when the deadline moves. It is ref'd
   * (keeps Node alive) iff the loop has referenced work. */
  #armTimer(ms, ref) {
    const due = perf.now() + ms;
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
