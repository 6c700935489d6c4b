// calls.mjs: exported calls, JS calling C. rt.call() starts the C coroutine
// exported under a name (tide_js_call) and returns a Promise that the
// `call_done` import settles (callDone) with its result or its error; aborting
// the call's signal cancels the task (tide_js_cancel), and the call then
// rejects with the signal's reason, as fetch() does. rt.main() runs the
// module's TIDE_MAIN setup with argv (tide_js_main); its Promise resolves with
// the exit code once the loop has gone idle (the scheduler sees to that) or
// with exit()'s status. A call made from inside an import (a sink, say) goes
// out once wasm has returned, through state.deferred.

import { TideError, errors } from './errors.mjs';
import { utf8, fromUtf8 } from './values.mjs';
import { decodeArgs, encodeArgs, putBytes, NAME_CACHE } from './wire.mjs';
import { unwound } from './state.mjs';

/* The exported calls of one runtime. */
export class Calls {
  #s; /* the RuntimeState */
  #sched; /* the Scheduler: enter() calls into wasm, kick() takes a call to C */
  #mainStarted = false;

  constructor(state, sched) {
    this.#s = state;
    this.#sched = sched;
  }

  /* rt.call(name, args, {signal}). */
  call(name, args, signal) {
    return new Promise((resolve, reject) => {
      if (typeof name !== 'string') throw new TypeError('tideloop: call(name): name must be a string');
      if (!Array.isArray(args)) throw new TypeError('tideloop: call(name, args): args must be an array');
      if (signal !== undefined && !(signal instanceof AbortSignal)) {
        throw new TypeError('tideloop: call(): signal must be an AbortSignal');
      }
      const s = this.#s;
      if (s.dead) throw s.dead;
      if (s.closed) throw new TideError(errors.ECLOSED, 'the runtime is closed');
      if (signal?.aborted) throw signal.reason;
      const list = encodeArgs(args);
      const start = () => this.#startCall(name, list, signal, resolve, reject);
      /* Called from inside an import (a sink, say): wasm is on the stack, so
       * the call goes out once it has returned. */
      if (s.depth > 0) s.deferred.push(start);
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
    const s = this.#s;
    if (s.dead) return reject(s.dead);
    if (s.closed) return reject(new TideError(errors.ECLOSED, 'the runtime is closed'));
    if (signal?.aborted) return reject(signal.reason);
    const nameBytes = this.#callName(name);
    let id;
    try {
      id = this.#sched.enter((x) => {
        const np = putBytes(x, nameBytes);
        let ap;
        try {
          ap = putBytes(x, list);
        } catch (e) {
          if (np) x.tide_js_free(np);
          throw e;
        }
        const rc = x.tide_js_call(s.loop, np, nameBytes.length, ap, list.length);
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
    s.stats.calls++;
    const onAbort = () => this.#cancelCall(id);
    signal?.addEventListener('abort', onAbort, { once: true });
    s.calls.set(id >>> 0, {
      resolve,
      reject,
      signal,
      cleanup: () => signal?.removeEventListener('abort', onAbort),
    });
    this.#sched.kick();
    return undefined;
  }

  #cancelCall(id) {
    const s = this.#s;
    if (!s.calls.has(id) || s.dead) return;
    /* An abort listener can run anywhere, also inside an import (a sink, say). */
    if (s.depth > 0) {
      s.deferred.push(() => this.#cancelCall(id));
      return;
    }
    try {
      this.#sched.enter((x) => x.tide_js_cancel(s.loop, id));
    } catch {
      return; /* the instance died; Runtime #die rejected the call */
    }
    this.#sched.kick();
  }

  /* The `call_done` import: the coroutine of call `call` finished. */
  callDone(call, code, ptr, len) {
    const s = this.#s;
    const rec = s.calls.get(call);
    if (rec === undefined) return;
    s.calls.delete(call);
    rec.cleanup();
    ptr >>>= 0;
    len >>>= 0;
    const buf = s.exports.memory.buffer;
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
    } else if (code === errors.ECANCELED && rec.signal?.aborted) {
      /* The task ended cancelled after the caller aborted: the caller's
       * reason (an AbortError, a TimeoutError from AbortSignal.timeout(), or
       * its own), so it can tell its abort from a cancellation C chose. A
       * task that handled the cancellation and ended otherwise settles as
       * it ended. */
      rec.reject(rec.signal.reason);
    } else {
      rec.reject(new TideError(code, fromUtf8(bytes)));
    }
  }

  /* rt.main(argv). */
  main(argv) {
    return new Promise((resolve, reject) => {
      if (!Array.isArray(argv) || argv.some((a) => typeof a !== 'string')) {
        throw new TypeError('tideloop: main(argv): argv must be an array of strings');
      }
      const s = this.#s;
      if (s.dead) throw s.dead;
      if (s.closed) throw new TideError(errors.ECLOSED, 'the runtime is closed');
      if (this.#mainStarted) throw new TideError(errors.ESTATE, 'main() already ran on this runtime');
      this.#mainStarted = true;
      s.main = { resolve, reject };
      if (s.depth > 0) s.deferred.push(() => this.#startMain(argv));
      else this.#startMain(argv);
    });
  }

  #startMain(argv) {
    const s = this.#s;
    if (!s.main) return; /* closed or died meanwhile: already settled */
    let rc;
    try {
      rc = this.#sched.enter((x) => {
        const ptrs = [];
        try {
          for (const a of argv) {
            const bytes = utf8(a);
            const z = new Uint8Array(bytes.length + 1);
            z.set(bytes);
            ptrs.push(putBytes(x, z));
          }
          const table = new Uint8Array(4 * (ptrs.length + 1));
          const dv = new DataView(table.buffer);
          ptrs.forEach((p, i) => dv.setUint32(4 * i, p, true));
          ptrs.push(putBytes(x, table));
          return x.tide_js_main(s.loop, argv.length, ptrs.at(-1));
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
      /* Runtime #die settled main already if the instance is finished. */
      if (s.main) {
        s.main.reject(e);
        s.main = null;
      }
      return;
    }
    if (rc !== 0 && s.main) {
      /* As natively: a failing setup is exit status 1. */
      s.main.resolve(1);
      s.main = null;
      return;
    }
    this.#sched.ensureTick();
  }
}
