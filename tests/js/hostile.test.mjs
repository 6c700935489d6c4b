// hostile.test.mjs: raw exports called with bad input (unknown ids, double
// completions, completion after cancel, out-of-range pointers and lengths,
// malformed value lists): each gets its documented TIDE_E* code and the loop
// stays consistent (it keeps working and still frees cleanly).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { errors, load } from '../../js/src/node.mjs';
import { stubTideModule, op, I32, F64 } from './wasm-builder.mjs';
import { loadTest, deferred, until, sleep } from './helpers.mjs';

let rt;
let x;
let loop;
let err;
before(async () => {
  ({ rt, err } = await loadTest());
  x = rt._exports;
  loop = rt._loop;
});
after(() => {
  assert.equal(rt.close(), 0, 'the loop still frees cleanly after all of it');
});

const { EINVAL, ENOENT, ERANGE } = errors;

/* A value list in fresh wasm memory (C takes it). */
function put(bytes) {
  const p = x.tide_js_alloc(bytes.length) >>> 0;
  assert.notEqual(p, 0);
  new Uint8Array(x.memory.buffer, p, bytes.length).set(bytes);
  return p;
}
const numberList = (n) => {
  const b = new Uint8Array(9);
  b[0] = 1;
  new DataView(b.buffer).setFloat64(1, n, true);
  return b;
};
const memSize = () => x.memory.buffer.byteLength;

/* Start call_host_any(name) against a host function that never finishes by
 * itself; resolves with {op, call, release, signal}. */
async function inFlight(name, options) {
  const d = deferred();
  let op;
  let signal;
  rt._onHostCall = (id, n) => {
    if (n === name) op = id;
  };
  rt.register(name, (...args) => {
    signal = args.at(-1).signal;
    return d.promise;
  });
  const call = rt.call('call_host_any', [name], options);
  call.catch(() => {});
  await until(() => op !== undefined && signal !== undefined, `${name} to start`);
  rt._onHostCall = undefined;
  return { op, call, release: d.resolve, signal };
}

async function stillWorks() {
  assert.equal(await rt.call('add', [20, 22]), 42);
  assert.deepEqual(rt._pending, { ops: 0, completions: 0, calls: 0 });
}

test('completing an unknown operation id: ENOENT, nothing changes', async () => {
  for (const op of [0, 1, 0xff, 0x7fffff01, 0x7fffffff, -1]) {
    assert.equal(x.tide_js_complete(loop, op, 0, put(numberList(1)), 9), ENOENT, `op ${op}`);
  }
  assert.equal(x.tide_js_complete(loop, 12345, errors.EIO, 0, 0), ENOENT);
  await stillWorks();
});

test('a double completion: the first wins, the second is ENOENT', async () => {
  const f = await inFlight('double_done');
  assert.equal(x.tide_js_complete(loop, f.op, 0, put(numberList(5)), 9), 0);
  assert.equal(x.tide_js_complete(loop, f.op, 0, put(numberList(6)), 9), ENOENT);
  /* A raw completion bypasses the host's driver, so no tick is scheduled for
   * it; the host's own (late, refused) completion below schedules one. */
  f.release(7);
  assert.equal(await f.call, 5);
  await sleep(2);
  await stillWorks();
});

test('a completion after C cancelled the operation: ENOENT, never delivered', async () => {
  const ac = new AbortController();
  const f = await inFlight('cancelled_op', { signal: ac.signal });
  ac.abort();
  await assert.rejects(f.call, (e) => e === ac.signal.reason);
  assert.equal(f.signal.aborted, true);
  assert.equal(x.tide_js_complete(loop, f.op, 0, put(numberList(1)), 9), ENOENT);
  assert.equal(x.tide_js_complete(loop, f.op, errors.EIO, 0, 0), ENOENT);
  f.release(1);
  await sleep(2);
  await stillWorks();
});

test('out-of-range pointers and lengths: ERANGE, the buffer is not taken', async () => {
  const f = await inFlight('range_op');
  const size = memSize();
  const bad = [
    [size - 4, 9],
    [size, 1],
    [0xfffffff0, 32],
    [8, 0xffffffff],
    [0, 9], /* a NULL pointer with a length */
  ];
  for (const [p, len] of bad) {
    assert.equal(x.tide_js_complete(loop, f.op, 0, p, len), ERANGE, `complete(${p}, ${len})`);
    assert.equal(x.tide_js_call(loop, p, len, 0, 0), ERANGE, `call name (${p}, ${len})`);
    assert.equal(x.tide_js_call(loop, put(new Uint8Array([0x61])), 1, p, len), ERANGE,
      `call args (${p}, ${len})`);
  }
  assert.equal(x.tide_js_main(loop, 1, size - 2), ERANGE, 'argv table past the end');
  assert.equal(x.tide_js_main(loop, -1, 0), ERANGE, 'negative argc');
  const table = put(new Uint8Array([0xf0, 0xff, 0xff, 0xff]));
  assert.equal(x.tide_js_main(loop, 1, table), ERANGE, 'argv[0] outside memory');
  /* The operation is untouched: it still completes normally. */
  assert.equal(x.tide_js_complete(loop, f.op, 0, put(numberList(11)), 9), 0);
  f.release(0); /* refused (ENOENT), but it gets the host to tick */
  assert.equal(await f.call, 11);
  await sleep(2);
  await stillWorks();
});

test('malformed value lists: EINVAL, and the awaiting task is never left hanging', async () => {
  const lists = [
    [9],                          /* unknown tag */
    [1, 0, 0],                    /* truncated number */
    [2, 200, 0, 0, 0, 0x41],      /* string length past the end */
    [3, 0xff, 0xff, 0xff, 0x7f],  /* bytes length past the end */
    [1, 0, 0, 0, 0, 0, 0, 0, 0, 0], /* two items (a number and a none): not one */
  ];
  for (const list of lists) {
    const f = await inFlight('malformed_op');
    const bytes = new Uint8Array(list);
    assert.equal(x.tide_js_complete(loop, f.op, 0, put(bytes), bytes.length), EINVAL, JSON.stringify(list));
    assert.equal(x.tide_js_complete(loop, f.op, 0, put(numberList(1)), 9), ENOENT, 'finished now');
    f.release(0);
    await assert.rejects(f.call, (e) => e.code === 'EINVAL');
  }
  await sleep(2);
  await stillWorks();
});

test('a positive completion code: EINVAL', async () => {
  const f = await inFlight('positive_code');
  assert.equal(x.tide_js_complete(loop, f.op, 5, 0, 0), EINVAL);
  f.release(0);
  await assert.rejects(f.call, (e) => e.code === 'EINVAL');
  await sleep(2);
  await stillWorks();
});

test('malformed argument lists for a call: EINVAL', async () => {
  const name = new TextEncoder().encode('echo');
  for (const list of [[7], [2, 9, 0, 0, 0], [1, 1]]) {
    const np = put(name);
    const args = new Uint8Array(list);
    assert.equal(x.tide_js_call(loop, np, name.length, put(args), args.length), EINVAL);
    x.tide_js_free(np);
  }
  await stillWorks();
});

test('unknown ids and loops elsewhere', async () => {
  assert.equal(x.tide_js_cancel(loop, 0), ENOENT);
  assert.equal(x.tide_js_cancel(loop, 0x7fffff01), ENOENT);
  const np = put(new TextEncoder().encode('no_such_export'));
  assert.equal(x.tide_js_call(loop, np, 14, 0, 0), ENOENT);
  x.tide_js_free(np);
  for (const bogus of [0, 8, loop + 4, 0x7ffffff0]) {
    assert.equal(x.tide_js_tick(bogus, 0), EINVAL);
    assert.equal(x.tide_js_take(bogus), EINVAL);
    assert.equal(x.tide_js_ring(bogus), 0);
    assert.equal(x.tide_js_has_ref(bogus), EINVAL);
    assert.equal(x.tide_js_exit_code(bogus), EINVAL);
    assert.equal(x.tide_js_next_timeout(bogus), -1);
    assert.equal(x.tide_js_cancel(bogus, 1), EINVAL);
    assert.equal(x.tide_js_loop_free(bogus), EINVAL);
    assert.equal(x.tide_js_complete(bogus, 1, 0, put(numberList(1)), 9), EINVAL);
    assert.equal(x.tide_js_main(bogus, 0, 0), EINVAL);
  }
  await stillWorks();
});

test('a stale call id after the call finished: ENOENT', async () => {
  let id;
  const before = rt.stats.calls;
  assert.equal(await rt.call('add', [1, 2]), 3);
  assert.equal(rt.stats.calls, before + 1);
  /* Ids are (slot << 8 | generation); every small id of this loop is finished. */
  for (id = 0x101; id < 0x1000; id += 0x100) assert.equal(x.tide_js_cancel(loop, id), ENOENT);
  await stillWorks();
});

test('freeing the loop while work is pending: EBUSY, the loop keeps working', async () => {
  const f = await inFlight('busy_op');
  assert.equal(x.tide_js_loop_free(loop), errors.EBUSY);
  f.release(9);
  assert.equal(await f.call, 9);
  await stillWorks();
});

/* --- The other direction: a buggy C side must not crash the host ----------- */
test('bad pointers and lists from C: the host answers EINVAL and keeps going', async () => {
  const T = 'tideloop';
  const imports = [
    { module: T, name: 'report', params: [I32, I32, I32], results: [] },
    {
      module: T,
      name: 'host_start',
      params: [I32, I32, I32, I32, I32, I32, I32, I32, F64, F64, F64],
      results: [],
    },
    { module: T, name: 'call_done', params: [I32, I32, I32, I32, I32], results: [] },
  ];
  const LOOP = 1024; /* what the stub's tide_js_loop_new returns */
  const body = (...parts) => parts.flat();
  const bytes = stubTideModule({
    imports,
    overrides: {
      /* main: report a line from memory at 4096, then start two host
       * operations, one with its name outside memory (under a name id, which
       * the host must not remember for it) and one with a malformed argument
       * list (a string whose length runs past the end). */
      tide_js_main: body(
        op.i32(LOOP), op.i32(4096), op.i32(5), op.call(0),
        op.i32(LOOP), op.i32(0x101), op.i32(1), op.i32(-16), op.i32(4), op.i32(0), op.i32(0),
        op.i32(-1), op.f64(0), op.f64(0), op.f64(0), op.call(1),
        op.i32(LOOP), op.i32(0x201), op.i32(0), op.i32(4096), op.i32(5), op.i32(5000), op.i32(3),
        op.i32(-1), op.f64(0), op.f64(0), op.f64(0), op.call(1),
        op.i32(0),
      ),
      /* call ids: 0x301 for every call */
      tide_js_call: op.i32(0x301),
      /* tick: answer call 0x301 with a result outside memory. */
      tide_js_tick: body(
        op.i32(LOOP), op.i32(0x301), op.i32(0), op.i32(-16), op.i32(8), op.call(2),
        op.i32(0),
      ),
    },
  });
  const err = [];
  const rt = await load(bytes, { stdout: () => {}, stderr: (l) => err.push(l) });
  new Uint8Array(rt._exports.memory.buffer).set(new TextEncoder().encode('hello'), 4096);
  new Uint8Array(rt._exports.memory.buffer).set([2, 0xff, 0, 0, 0], 5000);
  const main = rt.main();
  assert.deepEqual(err, ['hello'], 'report() reached the error stream as one line');
  assert.equal(rt.stats.hostCalls, 2);
  assert.equal(rt._pending.completions, 2, 'both refused operations are answered (EINVAL)');
  const call = rt.call('anything');
  await assert.rejects(call, (e) => e.code === 'EINVAL' && /outside memory/.test(e.message));
  assert.equal(rt.stats.completions, 2, 'the two answers went to C');
  assert.equal(await main, 0);
  rt.close();
});

test('a buffer C did not hand out, or one already taken, is refused and not freed', async () => {
  const f = await inFlight('foreign_buffer');
  /* A pointer into the middle of a block, and one into static data: EINVAL,
   * the operation still pending, nothing freed (the heap stays sound). */
  const block = put(new Uint8Array(64));
  for (const p of [block + 8, 1024]) {
    assert.equal(x.tide_js_complete(loop, f.op, 0, p, 9), EINVAL, `complete(${p})`);
  }
  x.tide_js_free(block + 8); /* ignored: not a block start */
  x.tide_js_free(block);
  /* A block taken once is not taken again. */
  const list = put(numberList(3));
  assert.equal(x.tide_js_complete(loop, f.op, 0, list, 9), 0);
  assert.equal(x.tide_js_complete(loop, f.op, 0, list, 9), EINVAL);
  const name = put(new Uint8Array([0x61, 0x64, 0x64])); /* "add": borrowed, JS frees it */
  assert.equal(x.tide_js_call(loop, name, 3, list, 9), EINVAL);
  x.tide_js_free(name);
  f.release(4);
  assert.equal(await f.call, 3);
  await sleep(2);
  await stillWorks();
});

/* Write entry i of the loop's completion ring (src/backend/js/ABI.md,
 * "Completions") and set the count to n. */
function ringEntries(entries) {
  const ring = x.tide_js_ring(loop) >>> 0;
  const i32 = new Int32Array(x.memory.buffer);
  const f64 = new Float64Array(x.memory.buffer);
  entries.forEach(({ op, code = 0, kind, ptr = 0, len = 0, num = 0 }, i) => {
    const at = ring / 4 + 4 + i * 8;
    i32.set([op, code, kind, ptr, len, 0], at);
    f64[(at + 6) / 2] = num;
  });
  i32[ring / 4] = entries.length;
}

test('ring entries a host got wrong are refused and reported; the rest are taken', async () => {
  const f = await inFlight('ring_op');
  const ring = x.tide_js_ring(loop) >>> 0;
  assert.notEqual(ring, 0);
  assert.equal(ring % 8, 0, 'the ring is 8-aligned');
  assert.equal(new Int32Array(x.memory.buffer)[ring / 4 + 1], 256, 'its capacity');
  const reported = err.length;
  ringEntries([
    { op: f.op, kind: 7 }, /* no such kind */
    { op: f.op, kind: 2, ptr: 1024, len: 9 }, /* a block C never handed out */
    { op: f.op, kind: 2, ptr: 0x7ffffff0, len: 64 }, /* not even in memory */
    { op: 0x7fff0001, kind: 1, num: 5 }, /* a stale id: refused silently */
    { op: f.op, kind: 1, code: 3 }, /* code > 0: the operation fails, EINVAL */
  ]);
  const r = x.tide_js_tick(loop, performance.now());
  assert.ok(r >= 0, `the tick answers (${r})`);
  assert.equal(new Int32Array(x.memory.buffer)[ring / 4], 0, 'C took every entry');
  await assert.rejects(f.call, (e) => e.code === 'EINVAL' && /malformed/.test(e.message));
  const lines = err.slice(reported);
  assert.equal(lines.length, 4, `four reports: ${lines.join(' | ')}`);
  assert.ok(lines.every((l) => /completion of an operation/.test(l)), lines.join(' | '));
  f.release(1); /* JS's own completion for it now comes too late: refused */
  await stillWorks();
});

test('tide_js_tick_settle: a kind it cannot carry is refused, a stale op changes nothing', async () => {
  const f = await inFlight('settle_op');
  const reported = err.length;
  /* Only none (0) and a number (1) ride on the tick; anything else is
   * refused before the tick runs, and the operation is left as it was. */
  for (const kind of [2, 7, -1]) {
    assert.equal(x.tide_js_tick_settle(loop, performance.now(), f.op, kind, 1), EINVAL, `kind ${kind}`);
  }
  /* A stale id is refused silently, as in the ring; the tick still runs. */
  assert.ok(x.tide_js_tick_settle(loop, performance.now(), 0x7fff0001, 1, 5) >= 0);
  assert.equal(x.tide_js_tick_settle(loop + 4, performance.now(), f.op, 1, 5), EINVAL, "not a loop");
  assert.equal(err.length, reported, 'nothing reported');
  /* The operation is still C's to complete, through the tick itself. */
  assert.ok(x.tide_js_tick_settle(loop, performance.now(), f.op, 1, 41) >= 0);
  assert.equal(await f.call, 41);
  f.release(1); /* JS's own completion for it now comes too late: refused */
  await stillWorks();
});

test('a tick given no usable time takes the clock itself: timers keep their time', async () => {
  /* performance.now() is finite and >= 0; anything else (or a time past 2^53
   * ms) is no time, and C asks the clock: a sleep still takes its time, and
   * the loop's time never jumps to the end of time (every timer due at once). */
  for (const now of [NaN, -5, Infinity, -Infinity, 1e300]) {
    assert.ok(x.tide_js_tick(loop, now) >= 0, `tick(${now})`);
  }
  const t0 = performance.now();
  assert.equal(await rt.call('sleep_then', [30, 'done']), 'done');
  const took = performance.now() - t0;
  assert.ok(took >= 25 && took < 5000, `a 30 ms sleep took ${took.toFixed(1)} ms`);
  await stillWorks();
});
