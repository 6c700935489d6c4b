// ring.mjs: the JS side of a loop's completion ring (src/backend/js/ABI.md,
// "Completions"). C gives each loop a ring in wasm memory (tide_js_ring); the
// host operations (host-ops.mjs) write their completions into it between
// ticks, and the next tide_js_tick takes them all before it runs, so a
// completion costs no call into wasm of its own. A number or nothing goes in
// at once; anything that needs a block of memory (a string, bytes, another
// value, an error's message), or that arrives while wasm is on the stack or
// behind such a one, waits in arrival order for the start of the next tick
// (deliver). The ring also keeps the views of memory the host operations read.

import { TideError, errors, codeOfThrown, messageOfThrown } from './errors.mjs';
import { encodeList, utf8, TAG_STRING, TAG_BYTES } from './values.mjs';
import { setU32 } from './wire.mjs';

/* The layout: a header of 4 u32 (count, capacity, two reserved), then entries
 * of 32 bytes: op u32, code i32, kind u32, ptr u32, len u32, reserved u32,
 * num f64. */
const HEADER_I32 = 4;
const ENTRY_I32 = 8;
export const KIND_NONE = 0;
export const KIND_NUMBER = 1;
/* HostOp.holds (host-ops.mjs): its completion is in the ring, not yet taken. */
export const HELD_BY_RING = 2;
const KIND_BLOCK = 2;

/* A completion that waits for the next tick. `bytes` is a one-item value
 * list, or with code < 0 the message. `op` is the record's op id when it was
 * made: a record C is done with may be reused by then. */
class Pending {
  constructor(rec, code, kind, num, bytes) {
    this.rec = rec;
    this.op = rec.op;
    this.code = code;
    this.kind = kind;
    this.num = num;
    this.bytes = bytes;
  }
}

/* A one-item value list for a string or bytes result (the copy the ABI wants:
 * the function may reuse its buffer). */
function listOf(tag, payload) {
  const out = new Uint8Array(5 + payload.length);
  out[0] = tag;
  setU32(out, 1, payload.length);
  out.set(payload, 5);
  return out;
}

/* The completion of a value that needs a block: an error with its message, a
 * string, bytes, or any other value as an encoded list. */
function blockOf(rec, ok, value) {
  if (!ok) return new Pending(rec, codeOfThrown(value), KIND_BLOCK, 0, utf8(messageOfThrown(value)));
  if (typeof value === 'string') return new Pending(rec, 0, KIND_BLOCK, 0, listOf(TAG_STRING, utf8(value)));
  if (value instanceof Uint8Array && value.length <= 0xffffffff - 5) {
    return new Pending(rec, 0, KIND_BLOCK, 0, listOf(TAG_BYTES, value));
  }
  try {
    return new Pending(rec, 0, KIND_BLOCK, 0, encodeList([value]));
  } catch (e) {
    return new Pending(rec, errors.EINVAL, KIND_BLOCK, 0,
      utf8(`host function "${rec.name}" returned a value C cannot take: ${e.message}`));
  }
}

export class CompletionRing {
  #s; /* the RuntimeState */
  #at = 0;
  #cap = 0;
  /* Views of all of memory (see views()): bytes, and a DataView for the
   * unaligned little-endian numbers of value lists. */
  #buf = null;
  u8 = null;
  dv = null;
  #i32 = null;
  #f64 = null;
  /* Entries written since C last took them, and their records. */
  #count = 0;
  #recs = [];
  #pending = [];

  constructor(state) {
    this.#s = state;
  }

  /** Where the loop's ring is (tide_js_ring): checked, as C's answers are. */
  attach(ptr) {
    const at = ptr >>> 0;
    this.#buf = null;
    this.views();
    const size = this.#buf.byteLength;
    const cap = at !== 0 && at % 8 === 0 && at + 16 <= size ? this.#i32[(at >>> 2) + 1] >>> 0 : 0;
    if (cap === 0 || cap > 65536 || at + 16 + cap * ENTRY_I32 * 4 > size) {
      throw new TideError(errors.EINVAL,
        'tideloop: the module gave no usable completion ring (tide_js_ring)');
    }
    this.#at = at;
    this.#cap = cap;
  }

  /** Make sure the views (`u8` and the ring's) cover memory as it is now:
   * remade only when it grew, which detaches the old buffer, so that a view
   * of it reads length 0 (cheaper than asking the Memory for its buffer each
   * time; and a view's length is inlined where the buffer's is a call). */
  views() {
    if (this.#buf !== null && this.u8.length !== 0) return;
    const buf = this.#s.exports.memory.buffer;
    this.#buf = buf;
    this.u8 = new Uint8Array(buf);
    this.dv = new DataView(buf);
    this.#i32 = new Int32Array(buf);
    this.#f64 = new Float64Array(buf);
  }

  /** Completions JS holds that C has not taken (in the ring or waiting): a
   * field, not a getter, as every round trip reads it three times, and
   * before V8 compiles the host's path a getter call costs about 800
   * instructions (a round trip measured 25,200 instructions with getters,
   * 22,700 with this field: bench/js/w5-instructions.sh). Each method that
   * changes #count or #pending ends by recounting it. */
  queued = 0;
  #recount() {
    this.queued = this.#count + this.#pending.length;
  }

  /** rec's completion: a number or nothing (kind, num), or with ok false an
   * error, or any other value. */
  add(rec, ok, value) {
    let kind;
    if (ok && typeof value === 'number') kind = KIND_NUMBER;
    else if (ok && (value === undefined || value === null)) kind = KIND_NONE;
    else {
      this.#pending.push(blockOf(rec, ok, value));
      this.#recount();
      return;
    }
    const num = kind === KIND_NUMBER ? value : 0;
    if (this.#s.depth === 0 && this.#pending.length === 0 && this.#count < this.#cap) {
      this.#write(rec, 0, kind, num, 0, 0);
    } else {
      this.#pending.push(new Pending(rec, 0, kind, num, null));
    }
    this.#recount();
  }

  /** rec's completion will never be taken (C cancelled it): out of the
   * waiting ones. One already in the ring, C refuses as stale. */
  drop(rec) {
    const p = this.#pending.findIndex((c) => c.rec === rec);
    if (p >= 0) this.#pending.splice(p, 1);
    this.#recount();
  }

  /* Append one entry (room checked by the caller). */
  #write(rec, code, kind, num, ptr, len) {
    this.views();
    const i32 = this.#i32;
    const head = this.#at >>> 2;
    const at = head + HEADER_I32 + this.#count * ENTRY_I32;
    i32[at] = rec.op;
    i32[at + 1] = code;
    i32[at + 2] = kind;
    i32[at + 3] = ptr;
    i32[at + 4] = len;
    this.#f64[(at + 6) >>> 1] = num;
    rec.holds |= HELD_BY_RING;
    this.#recs[this.#count] = rec;
    i32[head] = ++this.#count;
    this.#s.stats.completions++;
  }

  /** Before a tick (x: the exports, inside a call into wasm): the waiting
   * completions go in, in order, each block from tide_js_alloc; a full ring
   * is taken by C first (tide_js_take), and release(rec) is called for each
   * record C took. */
  deliver(x, release) {
    const pending = this.#pending;
    if (pending.length === 0) return;
    this.#pending = [];
    try {
      this.#deliverAll(x, release, pending);
    } finally {
      this.#recount();
    }
  }

  #deliverAll(x, release, pending) {
    for (let i = 0; i < pending.length; i++) {
      const c = pending[i];
      /* C may cancel an operation while this runs (a full ring's take runs C
       * code): its record went back (and may serve another operation now),
       * and its completion must not go. */
      if (c.rec.op !== c.op || c.rec.cancelled) continue;
      if (this.#count === this.#cap) {
        x.tide_js_take(this.#s.loop);
        this.taken(release);
      }
      let code = c.code;
      let kind = c.kind;
      let ptr = 0;
      let len = 0;
      if (kind === KIND_BLOCK && c.bytes.length > 0) {
        ptr = x.tide_js_alloc(c.bytes.length) >>> 0;
        if (ptr === 0) {
          /* No memory for the value: complete with ENOMEM and no message. */
          code = errors.ENOMEM;
          kind = KIND_NONE;
        } else {
          len = c.bytes.length;
          new Uint8Array(x.memory.buffer, ptr, len).set(c.bytes);
        }
      }
      this.#write(c.rec, code, kind, c.num, ptr, len);
    }
  }

  /** C took every entry (a tick or tide_js_take ran): release(rec) for each. */
  taken(release) {
    const n = this.#count;
    if (n === 0) return;
    this.#count = 0;
    this.#recount();
    const recs = this.#recs;
    for (let i = 0; i < n; i++) {
      const rec = recs[i];
      recs[i] = undefined;
      rec.holds &= ~HELD_BY_RING;
      release(rec);
    }
  }

  /** Forget everything (the instance is finished). */
  clear() {
    this.#pending = [];
    this.#count = 0;
    this.#recs = [];
    this.#recount();
  }
}
