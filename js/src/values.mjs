// values.mjs: the value-list wire format of src/backend/js/ABI.md ("Values on the wire").
//
// A list is items back to back, little-endian, each a one-byte tag and its
// payload: 0 none, 1 f64, 2 string (u32 length + UTF-8), 3 bytes (u32 length +
// bytes), 4 JSON (u32 length + UTF-8 JSON text). Encoding builds a plain
// Uint8Array in JS memory; the caller copies it into wasm memory at the last
// moment, so no view of wasm memory is ever held across an await.

import { TideError, errors } from './errors.mjs';

export const TAG_NONE = 0;
export const TAG_NUMBER = 1;
export const TAG_STRING = 2;
export const TAG_BYTES = 3;
export const TAG_JSON = 4;

const MAX_U32 = 0xffffffff;
const utf8Encoder = new TextEncoder();
/* Not fatal: bad UTF-8 from C becomes U+FFFD rather than a lost result. */
const utf8Decoder = new TextDecoder('utf-8');

/** UTF-8 bytes of a string. */
export function utf8(s) {
  return utf8Encoder.encode(s);
}

/** A string from UTF-8 bytes (a view is read now, not kept). */
export function fromUtf8(bytes) {
  return utf8Decoder.decode(bytes);
}

/* The bytes of an ArrayBuffer or any ArrayBufferView, as a Uint8Array view. */
function bytesOf(v) {
  if (v instanceof Uint8Array) return v;
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  return new Uint8Array(v);
}

function isBinary(v) {
  return (
    ArrayBuffer.isView(v) ||
    v instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer === 'function' && v instanceof SharedArrayBuffer)
  );
}

/* One item as [tag, payload bytes or null, f64 or undefined]. Throws TypeError
 * for what cannot travel (a function, a symbol, a BigInt, a cyclic object). */
function item(v) {
  if (v === undefined || v === null) return [TAG_NONE, null];
  if (typeof v === 'number') return [TAG_NUMBER, null, v];
  if (typeof v === 'string') return [TAG_STRING, utf8(v)];
  if (isBinary(v)) return [TAG_BYTES, bytesOf(v)];
  let json;
  try {
    json = JSON.stringify(v);
  } catch (e) {
    throw new TypeError(`tideloop: value cannot be sent to C: ${e.message}`);
  }
  if (json === undefined) {
    throw new TypeError(`tideloop: value of type ${typeof v} cannot be sent to C`);
  }
  return [TAG_JSON, utf8(json)];
}

/**
 * Encode values as a value list.
 * @param {unknown[]} values
 * @returns {Uint8Array}
 */
export function encodeList(values) {
  const items = values.map(item);
  let size = 0;
  for (const [tag, payload] of items) {
    if (tag === TAG_NONE) size += 1;
    else if (tag === TAG_NUMBER) size += 9;
    else {
      if (payload.length > MAX_U32) throw new RangeError('tideloop: value longer than 4 GiB');
      size += 5 + payload.length;
    }
  }
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let at = 0;
  for (const [tag, payload, num] of items) {
    out[at++] = tag;
    if (tag === TAG_NUMBER) {
      dv.setFloat64(at, num, true);
      at += 8;
    } else if (tag !== TAG_NONE) {
      dv.setUint32(at, payload.length, true);
      at += 4;
      out.set(payload, at);
      at += payload.length;
    }
  }
  return out;
}

function malformed(why) {
  return new TideError(errors.EINVAL, `malformed value list: ${why}`);
}

/**
 * Decode a value list. Strings and bytes are copied, so `bytes` may be a view
 * of wasm memory that is dropped right after. Never reads past the end; a
 * malformed list (unknown tag, a length past the end, invalid JSON) throws
 * TideError EINVAL.
 * @param {Uint8Array} bytes
 * @returns {unknown[]}
 */
export function decodeList(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength;
  const out = [];
  let at = 0;
  while (at < n) {
    const tag = bytes[at++];
    switch (tag) {
      case TAG_NONE:
        out.push(undefined);
        break;
      case TAG_NUMBER:
        if (n - at < 8) throw malformed('truncated number');
        out.push(dv.getFloat64(at, true));
        at += 8;
        break;
      case TAG_STRING:
      case TAG_BYTES:
      case TAG_JSON: {
        if (n - at < 4) throw malformed('truncated length');
        const len = dv.getUint32(at, true);
        at += 4;
        if (len > n - at) throw malformed(`length ${len} past the end`);
        const payload = bytes.subarray(at, at + len);
        at += len;
        if (tag === TAG_BYTES) out.push(payload.slice());
        else if (tag === TAG_STRING) out.push(fromUtf8(payload));
        else {
          try {
            out.push(JSON.parse(fromUtf8(payload)));
          } catch (e) {
            throw malformed(`invalid JSON (${e.message})`);
          }
        }
        break;
      }
      default:
        throw malformed(`unknown tag ${tag} at byte ${at - 1}`);
    }
  }
  return out;
}
