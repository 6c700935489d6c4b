// wire.mjs: the bytes that cross between JS and wasm memory on the hot paths:
// the value wire format (src/backend/js/ABI.md "Values on the wire") for the values most
// host calls and exported calls pass, and copies into and out of memory. A host
// call is a few hundred ns of work; values.mjs's general encoder and decoder (a
// DataView, an array per item, a copy) cost as much again, so numbers and nones
// (and, in host-ops.mjs's Completion, bytes and strings as results) are read and
// written here directly, and everything else goes to values.mjs, with the same
// answers and errors. No view of wasm memory is kept across an await or a call
// into wasm (memory growth detaches it): every access takes a fresh view,
// copies, and drops it.

import { TideError, errors } from './errors.mjs';
import { encodeList, decodeList, TAG_NONE, TAG_NUMBER } from './values.mjs';

/* Names C passes (host functions', host-ops.mjs) and JS passes (exports',
 * calls.mjs) are cached: the same few come again and again, and TextDecoder
 * and TextEncoder cost more than a lookup. At most NAME_CACHE names of at most
 * NAME_CACHE_LEN bytes (the latter for names looked up by their bytes). */
export const NAME_CACHE = 32;
export const NAME_CACHE_LEN = 64;

/* f64s are little-endian on the wire (as in wasm memory); a scratch
 * Float64Array converts them where the engine is little-endian (every engine
 * that runs wasm today), a DataView elsewhere. */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function getF64(u8, at) {
  if (!LITTLE_ENDIAN) return new DataView(u8.buffer, u8.byteOffset, u8.byteLength).getFloat64(at, true);
  for (let i = 0; i < 8; i++) F64_BYTES[i] = u8[at + i];
  return F64[0];
}

export function setF64(u8, at, v) {
  if (!LITTLE_ENDIAN) {
    new DataView(u8.buffer, u8.byteOffset, u8.byteLength).setFloat64(at, v, true);
    return;
  }
  F64[0] = v;
  for (let i = 0; i < 8; i++) u8[at + i] = F64_BYTES[i];
}

export function setU32(u8, at, v) {
  u8[at] = v & 0xff;
  u8[at + 1] = (v >>> 8) & 0xff;
  u8[at + 2] = (v >>> 16) & 0xff;
  u8[at + 3] = v >>> 24;
}

/* decodeList of the list at u8[start, end) (u8: a view of wasm memory, read
 * now: decodeList copies what it keeps), with lists of numbers and nones
 * decoded here. The same answers and errors as decodeList. */
export function decodeArgs(u8, start, end) {
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
export function encodeArgs(args) {
  for (let i = 0; i < args.length; i++) if (typeof args[i] !== 'number') return encodeList(args);
  const out = new Uint8Array(9 * args.length);
  for (let i = 0; i < args.length; i++) {
    out[9 * i] = TAG_NUMBER;
    setF64(out, 9 * i + 1, args[i]);
  }
  return out;
}

/* A copy of [ptr, ptr + len) of memory, or null if it is not inside it. */
export function readMemory(memory, ptr, len) {
  ptr >>>= 0;
  len >>>= 0;
  const buf = memory.buffer;
  if (ptr + len > buf.byteLength) return null;
  return new Uint8Array(buf, ptr, len).slice();
}

/* Copy bytes into fresh memory from tide_js_alloc (x: the exports, inside a
 * call into wasm); 0 for no bytes. */
export function putBytes(x, bytes) {
  if (bytes.length === 0) return 0;
  const p = x.tide_js_alloc(bytes.length) >>> 0;
  if (p === 0) throw new TideError(errors.ENOMEM, 'tideloop: out of wasm memory');
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  return p;
}
