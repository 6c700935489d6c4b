// values.test.mjs: the value-list codec of src/backend/js/ABI.md, byte for byte, and its
// refusal of malformed lists (never reading past the end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeList, decodeList } from '../../js/src/values.mjs';
import { TideError, errors } from '../../js/src/errors.mjs';

test('encodes each tag as the ABI says', () => {
  assert.deepEqual([...encodeList([undefined, null])], [0, 0]);
  const n = encodeList([1.5]);
  assert.equal(n.length, 9);
  assert.equal(n[0], 1);
  assert.equal(new DataView(n.buffer).getFloat64(1, true), 1.5);
  assert.deepEqual([...encodeList(['hé'])], [2, 3, 0, 0, 0, 0x68, 0xc3, 0xa9]);
  assert.deepEqual([...encodeList([new Uint8Array([7, 8])])], [3, 2, 0, 0, 0, 7, 8]);
  assert.deepEqual([...encodeList([{ a: 1 }])], [4, 7, 0, 0, 0, ...Buffer.from('{"a":1}')]);
  /* Any ArrayBufferView or ArrayBuffer is bytes: its own window of the buffer. */
  const big = new Uint16Array([0x0201, 0x0403, 0x0605]);
  assert.deepEqual([...encodeList([big.subarray(1, 2)])], [3, 2, 0, 0, 0, 3, 4]);
  assert.deepEqual([...encodeList([new ArrayBuffer(1)])], [3, 1, 0, 0, 0, 0]);
  assert.deepEqual([...encodeList([true])], [4, 4, 0, 0, 0, ...Buffer.from('true')]);
  assert.deepEqual([...encodeList([])], []);
});

test('round-trips every kind of value', () => {
  const values = [undefined, 0, -0.25, 1e308, NaN, '', 'x\u0000y', 'ünïcødé ✓',
    new Uint8Array(0), new Uint8Array([0, 255]), [1, 'two', null], { k: { n: [] } }, false];
  const out = decodeList(encodeList(values));
  assert.equal(out.length, values.length);
  assert.deepEqual(out, values.map((v) => (v === null ? undefined : v)));
});

test('refuses values that cannot travel', () => {
  assert.throws(() => encodeList([() => 1]), TypeError);
  assert.throws(() => encodeList([Symbol('s')]), TypeError);
  assert.throws(() => encodeList([10n]), TypeError);
  const cyclic = {};
  cyclic.self = cyclic;
  assert.throws(() => encodeList([cyclic]), TypeError);
});

test('malformed lists are EINVAL and never read past the end', () => {
  const bad = [
    [9],                       /* unknown tag */
    [1, 0, 0, 0],              /* truncated f64 */
    [2, 1, 0],                 /* truncated length */
    [2, 5, 0, 0, 0, 65],       /* length past the end */
    [3, 0xff, 0xff, 0xff, 0xff], /* 4 GiB length */
    [4, 1, 0, 0, 0, 0x7b],     /* invalid JSON "{" */
    [0, 0, 7],                 /* a good prefix, then garbage */
  ];
  for (const b of bad) {
    /* The list sits inside a larger buffer whose bytes after it must not be read. */
    const host = new Uint8Array(b.length + 16).fill(0x41);
    host.set(b);
    const view = host.subarray(0, b.length);
    assert.throws(() => decodeList(view), (e) => e instanceof TideError && e.errno === errors.EINVAL,
      JSON.stringify(b));
  }
});
