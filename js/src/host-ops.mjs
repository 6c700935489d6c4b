// host-ops.mjs: host operations, C calling JS. C's tide_host_call() reaches the
// `host_call` import (imports.mjs), which records the operation (hostCall) and
// queues it; once wasm has returned, the scheduler starts it (start): the
// registered function, else the runtime's built-in of that name, gets the
// decoded arguments and a last `{signal}`. Every operation completes exactly
// once: settle() marks it, whether the function returned, threw or its promise
// settled, and queues its completion, which the next tick delivers to C
// (deliver); a completion for an operation C cancelled (hostCancel) is dropped,
// never delivered, and the function's signal aborts.

import { TideError, errors, errorName, codeOfThrown, messageOfThrown } from './errors.mjs';
import {
  encodeList,
  utf8,
  fromUtf8,
  TAG_NONE,
  TAG_NUMBER,
  TAG_STRING,
  TAG_BYTES,
} from './values.mjs';
import { decodeArgs, setF64, setU32, NAME_CACHE, NAME_CACHE_LEN } from './wire.mjs';
import { reportUncaught } from './state.mjs';

function isPromiseLike(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') &&
    typeof v.then === 'function';
}

/* A host operation C started (state.ops). */
export class HostOp {
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

/* A completion waiting for the next tick (state.completions): the operation's
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

/* The host operations of one runtime. */
export class HostOps {
  #s; /* the RuntimeState */
  #sched; /* the Scheduler: kick() takes a completion to C */
  #rt; /* the Runtime, for its _onHostCall test hook */
  /** name -> host function, as registered (rt.register). */
  fns = new Map();
  /* The runtime's own host functions (stdio.mjs: C streams on fds 0-2, and
   * the adapter's: Node's sockets and name resolution), used when the user
   * registered none under the name. */
  #builtins;

  constructor(state, sched, rt, builtins) {
    this.#s = state;
    this.#sched = sched;
    this.#rt = rt;
    this.#builtins = builtins;
  }

  hostCall(op, namePtr, nameLen, argsPtr, argsLen) {
    const s = this.#s;
    s.stats.hostCalls++;
    if (s.ops.has(op) || s.completions.has(op)) {
      /* C never reuses a live id (generations); if it did, keep the first. */
      s.stderr.write(utf8(`tideloop: host_call reused live operation id ${op}\n`));
      return;
    }
    const rec = new HostOp(op);
    s.ops.set(op, rec);
    namePtr >>>= 0;
    nameLen >>>= 0;
    argsPtr >>>= 0;
    argsLen >>>= 0;
    const buf = s.exports.memory.buffer;
    if (namePtr + nameLen > buf.byteLength || argsPtr + argsLen > buf.byteLength) {
      this.settle(rec, false, new TideError(errors.EINVAL, 'host_call: name or arguments outside memory'));
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
      this.#rt._onHostCall?.(op, rec.name);
    } catch (e) {
      reportUncaught(e);
    }
    if (bad !== null) {
      this.settle(rec, false, bad);
      return;
    }
    if (s.closed) {
      this.settle(rec, false, new TideError(errors.ECANCELED, 'the runtime is closing'));
      return;
    }
    /* Not from inside the import: the function may call back into wasm.
     * The scheduler's #drain starts a HostOp queued here. */
    s.deferred.push(rec);
  }

  /* The name in `mem` (a view of memory), through #names: host functions'
   * names C passed, decoded, looked up by their bytes. */
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

  start(rec) {
    if (rec.settled) return; /* cancelled before it started */
    const fn = this.fns.get(rec.name) ?? this.#builtins.get(rec.name);
    if (fn === undefined) {
      this.settle(rec, false, new TideError(errors.ENOENT,
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
      this.settle(rec, false, e);
      return;
    }
    if (isPromiseLike(result)) {
      Promise.resolve(result).then(
        (v) => this.settle(rec, true, v),
        (e) => this.settle(rec, false, e),
      );
    } else {
      this.settle(rec, true, result);
    }
  }

  /* The one place an operation completes on the JS side: exactly once, and only
   * while C still waits for it. The completion goes out with the next tick, so
   * many completions arriving before it cost one tick. */
  settle(rec, ok, value) {
    if (rec.settled) return;
    rec.settled = true;
    const s = this.#s;
    s.ops.delete(rec.op);
    if (s.dead || s.loop === 0) return;
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
    s.completions.set(rec.op, c);
    this.#sched.kick();
  }

  hostCancel(op) {
    const s = this.#s;
    /* Whatever JS had for it is dropped: C already treats the op as cancelled
     * and would refuse a completion (TIDE_ENOENT). A value the function had
     * already returned is dropped with it, so its signal aborts all the same:
     * a function whose value holds something (an accepted connection, a new
     * socket) learns that C never got it, and can put it back or free it. */
    const dropped = s.completions.get(op);
    s.completions.delete(op);
    if (dropped !== undefined) {
      const c = dropped.rec.controller;
      dropped.rec.aborted = true;
      if (c) s.deferred.push(() => c.abort());
      return;
    }
    const rec = s.ops.get(op);
    if (rec === undefined) return;
    rec.settled = true;
    rec.aborted = true;
    s.ops.delete(op);
    const c = rec.controller;
    if (c) s.deferred.push(() => c.abort());
  }

  /* Deliver the queued completions (x: the exports, inside a call into wasm):
   * one tide_js_complete each, in arrival order. state.completions and
   * #spareCompletions take turns, so a tick allocates no map. */
  #spareCompletions = new Map();
  deliver(x) {
    const s = this.#s;
    if (s.completions.size === 0) return;
    const batch = s.completions;
    s.completions = this.#spareCompletions;
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
        const rc = x.tide_js_complete(s.loop, op, code, ptr, len);
        s.stats.completions++;
        if (rc === errors.ERANGE && ptr) x.tide_js_free(ptr);
        if (rc < 0 && rc !== errors.ENOENT) {
          s.stderr.write(utf8(`tideloop: completing operation ${op} failed: ${errorName(rc)}\n`));
        }
      }
    } finally {
      batch.clear();
      this.#spareCompletions = batch;
    }
  }
}
