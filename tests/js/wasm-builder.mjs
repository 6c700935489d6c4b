// wasm-builder.mjs: a tiny WebAssembly binary writer for hand-made stub modules
// (exit, traps, odd imports), so those paths are tested without a C toolchain.
// Only what the tests need: function imports, functions without locals, one
// memory, exports.

const enc = new TextEncoder();

function uleb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n) {
  const out = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

const str = (s) => {
  const b = enc.encode(s);
  return [...uleb(b.length), ...b];
};
const vec = (items) => [...uleb(items.length), ...items.flat()];
const section = (id, bytes) => [id, ...uleb(bytes.length), ...bytes];

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;

/** Instructions, as byte arrays to concatenate into a body. */
export const op = {
  i32: (n) => [0x41, ...sleb(n)],
  f64: (x) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, x, true);
    return [0x44, ...b];
  },
  call: (f) => [0x10, ...uleb(f)],
  /* i32.store with a constant offset (the address and the value on the stack). */
  i32Store: (offset) => [0x36, 0x02, ...uleb(offset)],
  drop: [0x1a],
  unreachable: [0x00],
};

/**
 * Build a module.
 * @param {object} m
 * @param {{module: string, name: string, params: number[], results: number[]}[]} m.imports
 * @param {{name?: string, params: number[], results: number[], body: number[]}[]} m.funcs
 *   exported under name when given; function indices count the imports first
 * @param {boolean} [m.memory] define and export "memory" (one page)
 * @returns {Uint8Array}
 */
export function buildModule({ imports = [], funcs = [], memory = true }) {
  const types = [];
  const typeIndex = (params, results) => {
    const t = [0x60, ...vec(params.map((p) => [p])), ...vec(results.map((r) => [r]))];
    const key = t.join(',');
    let i = types.findIndex((x) => x.join(',') === key);
    if (i < 0) i = types.push(t) - 1;
    return i;
  };
  const importEntries = imports.map((im) => [
    ...str(im.module), ...str(im.name), 0x00, ...uleb(typeIndex(im.params, im.results)),
  ]);
  const funcTypes = funcs.map((f) => uleb(typeIndex(f.params, f.results)));
  const exports = [];
  if (memory) exports.push([...str('memory'), 0x02, 0x00]);
  funcs.forEach((f, i) => {
    if (f.name) exports.push([...str(f.name), 0x00, ...uleb(imports.length + i)]);
  });
  const bodies = funcs.map((f) => {
    const body = [0x00 /* no locals */, ...f.body, 0x0b];
    return [...uleb(body.length), ...body];
  });
  const bytes = [
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...(imports.length ? section(2, vec(importEntries)) : []),
    ...section(3, vec(funcTypes)),
    ...(memory ? section(5, vec([[0x00, 0x01]])) : []),
    ...section(7, vec(exports)),
    ...section(10, vec(bodies)),
  ];
  return new Uint8Array(bytes);
}

/**
 * A module with the whole tideloop export surface as stubs (each returns a
 * constant), so a test can replace one behaviour: overrides maps an export name
 * to a body (bytes). Extra imports come first in the function index space.
 */
export function stubTideModule({ imports = [], overrides = {}, omit = [] } = {}) {
  const i32 = (n) => ({ params: [], results: [I32], body: op.i32(n) });
  const defs = {
    _initialize: { params: [], results: [], body: [] },
    tide_js_loop_new: i32(1024),
    tide_js_loop_free: i32(0),
    tide_js_tick: i32(0),
    tide_js_tick_settle: i32(0),
    tide_js_take: i32(0),
    /* A ring at 8192 with room for 16 completions (its header's capacity). */
    tide_js_ring: {
      params: [],
      results: [I32],
      body: [...op.i32(8192), ...op.i32(16), ...op.i32Store(4), ...op.i32(8192)],
    },
    tide_js_next_timeout: { params: [], results: [F64], body: op.f64(-1) },
    tide_js_has_ref: i32(0),
    tide_js_alloc: i32(2048),
    tide_js_free: { params: [], results: [], body: [] },
    tide_js_complete: i32(0),
    tide_js_call: i32(-8),
    tide_js_cancel: i32(-8),
    tide_js_main: i32(0),
    tide_js_exit_code: i32(0),
  };
  const funcs = Object.entries(defs)
    .filter(([name]) => !omit.includes(name))
    .map(([name, d]) => ({ name, ...d, ...(overrides[name] ? { body: overrides[name] } : {}) }));
  return buildModule({ imports, funcs });
}
