// w5-bare.mjs: W5's wasm (bench/c/w5_roundtrip.c, the JS host build) driven by
// the least JS that can run it: no runtime, no operation records, no options
// object, no scheduler, no time slice, no error handling. It is not a way to
// run tideloop (a host function here can neither be cancelled nor see its
// signal, and nothing else can run): it shows what W5 costs with tideloop's C
// side and none of the package's JS, so that the difference to the package's
// run (bench/js/run-tideloop.mjs) is what the JS host's own work costs.
//
//   node bench/js/w5-bare.mjs build/bench/js/w5_roundtrip.wasm N
//
// Its output is the program's own line ({"ops", "ns", "check"}). The ABI calls
// are the package's (src/backend/js/ABI.md): tide_js_main starts the program,
// host_start hands over the one operation in flight, and the promise's
// reaction completes it and ticks in one call (tide_js_tick_settle), as the
// package does for a lone round trip.
import { readFileSync } from 'node:fs';
import process from 'node:process';

const [file, nArg] = process.argv.slice(2);
if (!file || !(Number(nArg) > 0)) {
  console.error('usage: node w5-bare.mjs W5_ROUNDTRIP_WASM N');
  process.exit(2);
}

const ping = async (x) => x + 1; /* the function every W5 variant awaits */
const KIND_NUMBER = 1;

let exports;
let loop = 0;
let pending = false; /* host_start gave an operation not yet started */
let pendingOp = 0;
let pendingArg = 0;
const stdout = [];

const memory = () => new DataView(exports.memory.buffer);
const wasi = {
  clock_time_get(id, precision, out) {
    memory().setBigUint64(out, process.hrtime.bigint(), true);
    return 0;
  },
  fd_write(fd, iovs, count, written) {
    const m = memory();
    let total = 0;
    for (let i = 0; i < count; i++) {
      const ptr = m.getUint32(iovs + 8 * i, true);
      const len = m.getUint32(iovs + 8 * i + 4, true);
      const text = Buffer.from(exports.memory.buffer, ptr, len).toString();
      if (fd === 1) stdout.push(text);
      else process.stderr.write(text);
      total += len;
    }
    m.setUint32(written, total, true);
    return 0;
  },
  fd_close: () => 0,
  fd_fdstat_get: () => 0,
  fd_seek: () => 0,
  proc_exit(code) {
    throw new Error(`w5-bare: the program exited with ${code}`);
  },
};
const tideloop = {
  now_ms: () => performance.now(),
  report: (l, ptr, len) => {
    process.stderr.write(Buffer.from(exports.memory.buffer, ptr, len));
    process.stderr.write('\n');
  },
  host_start(l, op, nameId, namePtr, nameLen, argsPtr, argsLen, shape, a0) {
    if (shape !== 1) throw new Error('w5-bare: expected one number as the argument');
    pending = true;
    pendingOp = op;
    pendingArg = a0;
  },
  host_cancel() {
    throw new Error('w5-bare: the program cancelled an operation');
  },
};

const { instance } = await WebAssembly.instantiate(readFileSync(file), {
  tideloop,
  wasi_snapshot_preview1: wasi,
});
exports = instance.exports;
loop = exports.tide_js_loop_new();

/* argv = ["w5_roundtrip", N], in blocks the loop takes. */
function cString(s) {
  const bytes = Buffer.from(`${s}\0`);
  const ptr = exports.tide_js_alloc(bytes.length);
  new Uint8Array(exports.memory.buffer).set(bytes, ptr);
  return ptr;
}
const argv = exports.tide_js_alloc(8);
memory().setUint32(argv, cString('w5_roundtrip'), true);
memory().setUint32(argv + 4, cString(nArg), true);
const rc = exports.tide_js_main(loop, 2, argv);
if (rc < 0) throw new Error(`w5-bare: tide_js_main: ${rc}`);

/* Each round trip: start the operation C handed over, and from its promise's
 * reaction complete it and run the tick that resumes the task, which starts
 * the next one. */
let finished;
const done = new Promise((resolve) => {
  finished = resolve;
});
function next() {
  if (!pending) {
    finished();
    return;
  }
  pending = false;
  const op = pendingOp;
  ping(pendingArg).then((v) => {
    exports.tide_js_tick_settle(loop, -1, op, KIND_NUMBER, v);
    next();
  });
}
exports.tide_js_tick(loop, performance.now());
next();
await done;
const code = exports.tide_js_exit_code(loop);
process.stdout.write(stdout.join(''));
process.exitCode = code;
