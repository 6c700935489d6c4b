// lines.test.mjs: the flagship example, examples/lines.c, on the JS host. The
// same C source that ctest runs natively and under WASI is built as a module
// (<build>/examples/lines.wasm, TIDE_JS_BUILD, default build/js) and run under
// Node by the package's runner, js/bin/tideloop-run.mjs: its stdout must equal
// examples/lines-expected.txt byte for byte, and its exit status be 1, whether
// stdin is a file or a pipe that pauses. It also exercises the C streams over
// the runtime's "tideloop:fd_*" host functions: options.stdin, line sinks,
// overriding the built-ins, long and CRLF lines, backpressure on stdout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from '../../js/src/node.mjs';
import { load as loadWeb } from '../../js/src/index.mjs';
import { sleep } from './helpers.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = resolve(ROOT, process.env.TIDE_JS_BUILD ?? join('build', 'js'));
const LINES = join(BUILD, 'examples', 'lines.wasm');
const RUNNER = join(ROOT, 'js', 'bin', 'tideloop-run.mjs');
const INPUT_FILE = join(ROOT, 'examples', 'lines-input.txt');
const INPUT = readFileSync(INPUT_FILE);
const EXPECTED = readFileSync(join(ROOT, 'examples', 'lines-expected.txt'));

/* A missing module is a failure, not a skip (as helpers.mjs requireModule). */
function lines() {
  if (!existsSync(LINES)) {
    throw new Error(`examples/lines.wasm is missing: ${LINES} (build it with ` +
      'cmake -S . -B build/js -DCMAKE_TOOLCHAIN_FILE=wasm/toolchain-js.cmake && ' +
      'cmake --build build/js, or set TIDE_JS_BUILD to the build directory)');
  }
  return LINES;
}

/**
 * Run `node tideloop-run.mjs lines.wasm ...args`. stdin is a file descriptor to
 * redirect from, or an async function given the child's stdin pipe (it must end
 * it). With slowReader, stdout is not read for that many ms (backpressure).
 */
function run(args, stdin, { slowReader = 0 } = {}) {
  const child = spawn(process.execPath, [RUNNER, lines(), ...args], {
    stdio: [typeof stdin === 'number' ? stdin : 'pipe', 'pipe', 'pipe'],
  });
  const out = [];
  const err = [];
  if (slowReader > 0) {
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), slowReader);
  }
  child.stdout.on('data', (c) => out.push(c));
  child.stderr.on('data', (c) => err.push(c));
  const done = new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status, signal) => resolve({
      status,
      signal,
      stdout: Buffer.concat(out),
      stderr: Buffer.concat(err).toString(),
    }));
  });
  if (typeof stdin === 'function') {
    stdin(child.stdin).catch((e) => child.kill() && done.then(() => { throw e; }));
  }
  return done;
}

function assertSameBytes(actual, expected, r) {
  if (!actual.equals(expected)) {
    assert.equal(actual.toString(), expected.toString(), `stdout differs; stderr:\n${r.stderr}`);
    assert.fail('stdout differs in bytes that do not show as text');
  }
}

test('lines.wasm under tideloop-run, stdin from the sample file: the expected stdout, status 1', async () => {
  const fd = openSync(INPUT_FILE, 'r');
  let r;
  try {
    r = await run([], fd);
  } finally {
    closeSync(fd);
  }
  assertSameBytes(r.stdout, EXPECTED, r);
  assert.equal(r.status, 1, r.stderr);
  /* stderr has the timing-dependent part (progress, peak), as natively. */
  assert.match(r.stderr, /lines: peak in-flight=\d+ \(limit 4\)/);
});

test('stdin from a pipe that pauses 300 ms half-way: the same stdout', async () => {
  const half = Math.floor(INPUT.length / 2);
  const r = await run(['-q'], async (pipe) => {
    pipe.write(INPUT.subarray(0, half));
    await sleep(300);
    pipe.end(INPUT.subarray(half));
  });
  assertSameBytes(r.stdout, EXPECTED, r);
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, '', '-q: nothing on stderr');
});

test('stdin from a pipe one byte at a time: the same stdout', async () => {
  /* A line's timeout starts when it has been read, so slow input changes no
   * result. */
  const r = await run(['-q'], async (pipe) => {
    for (let i = 0; i < INPUT.length; i++) {
      pipe.write(INPUT.subarray(i, i + 1));
      if (i % 64 === 0) await sleep(1);
    }
    pipe.end();
  });
  assertSameBytes(r.stdout, EXPECTED, r);
  assert.equal(r.status, 1);
});

/* Many lines, CRLF endings, an over-long line and a last line without a
 * newline, with the stdout pipe not read for a while: every result in order. */
function bigInput(n) {
  const parts = [];
  const expected = [];
  for (let i = 1; i <= n; i++) {
    parts.push(`sleep 0 n${i}${i % 3 === 0 ? '\r\n' : '\n'}`);
    expected.push(`n${i}: ok after 0 ms`);
  }
  parts.push(`sleep 0 ${'x'.repeat(300)}\n`);
  expected.push(`line ${n + 1}: failed: longer than 256 bytes`);
  parts.push('sleep 1 last');
  expected.push('last: ok after 1 ms');
  expected.push(`lines=${n + 2} ok=${n + 1} failed=1 timed_out=0`);
  return { input: Buffer.from(parts.join('')), expected: `${expected.join('\n')}\n` };
}

test('20000 lines through a stdout pipe nobody reads for 300 ms: complete and in order', async () => {
  const { input, expected } = bigInput(20000);
  const r = await run(['-q', '-j', '64', '-t', '10000'], async (pipe) => {
    pipe.end(input);
  }, { slowReader: 300 });
  assert.equal(r.stdout.length, Buffer.byteLength(expected), r.stderr);
  assert.equal(r.stdout.toString(), expected);
  assert.equal(r.status, 1);
});

test('a usage error: status 2, nothing on stdout, the usage on stderr', async () => {
  const r = await run(['--no-such-option'], async (pipe) => pipe.end());
  assert.equal(r.status, 2);
  assert.equal(r.stdout.length, 0);
  assert.match(r.stderr, /lines: unknown option\nusage: lines/);
});

test('tideloop-run without a program: usage, status 2', async () => {
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [RUNNER], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c) => { err += c; });
    child.on('close', (status) => resolve({ status, err }));
  });
  assert.equal(r.status, 2);
  assert.match(r.err, /usage: tideloop-run PROGRAM\.wasm/);
});

/* --- In process: options.stdin, sinks and overrides ------------------------- */

async function mainWith(options, argv = ['lines', '-q']) {
  const out = [];
  const err = [];
  const rt = await load(lines(), {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    ...options,
  });
  try {
    const code = await rt.main(argv);
    return { code, out, err, rt };
  } finally {
    rt.close();
  }
}

const expectedLines = EXPECTED.toString().split('\n').slice(0, -1);

test('options.stdin as an async iterable of odd-sized chunks; stream output reaches the stdout sink', async () => {
  async function* chunks() {
    for (let at = 0, n = 1; at < INPUT.length; at += n, n = (n * 7) % 97 + 1) {
      yield INPUT.subarray(at, at + n);
      if (n % 5 === 0) await sleep(1);
    }
  }
  const { code, out, err } = await mainWith({ stdin: chunks() });
  assert.deepEqual(out, expectedLines, err.join('\n'));
  assert.equal(code, 1);
});

test('options.stdin as a string, and as a function honouring max', async () => {
  let r = await mainWith({ stdin: INPUT.toString() });
  assert.deepEqual(r.out, expectedLines);
  assert.equal(r.code, 1);

  let at = 0;
  const maxes = [];
  r = await mainWith({
    stdin: async (max, { signal }) => {
      assert.ok(signal instanceof AbortSignal);
      maxes.push(max);
      await sleep(0);
      /* More than asked for: the runtime keeps the rest for the next reads. */
      const chunk = INPUT.subarray(at, at + 2 * max);
      at += chunk.length;
      return chunk.length ? chunk : null;
    },
  });
  assert.deepEqual(r.out, expectedLines);
  assert.equal(r.code, 1);
  assert.ok(maxes.length >= 1 && maxes.every((m) => Number.isInteger(m) && m > 0), String(maxes));
});

test('the default entry without options.stdin (a browser has none): end of input at once', async () => {
  const out = [];
  const rt = await loadWeb(readFileSync(lines()), { stdout: (l) => out.push(l), stderr: () => {} });
  try {
    assert.equal(await rt.main(['lines', '-q']), 0);
  } finally {
    rt.close();
  }
  assert.deepEqual(out, ['lines=0 ok=0 failed=0 timed_out=0']);
});

test('user-registered tideloop:fd_read / fd_write take precedence over the built-ins', async () => {
  const out = [];
  const written = [];
  const reads = [];
  const rt = await load(lines(), { stdout: (l) => out.push(l), stderr: () => {} });
  let at = 0;
  rt.register('tideloop:fd_read', (fd, max) => {
    reads.push([fd, max]);
    const chunk = INPUT.subarray(at, at + Math.min(max, 10));
    at += chunk.length;
    return chunk;
  });
  rt.register('tideloop:fd_write', async (fd, bytes, { signal }) => {
    assert.equal(fd, 1);
    assert.ok(bytes instanceof Uint8Array && signal instanceof AbortSignal);
    await sleep(1); /* a slow sink: writes queue up behind it in C */
    written.push(Buffer.from(bytes));
    return bytes.length;
  });
  try {
    assert.equal(await rt.main(['lines', '-q']), 1);
  } finally {
    rt.close();
  }
  assertSameBytes(Buffer.concat(written), EXPECTED, { stderr: '' });
  assert.deepEqual(out, [], 'nothing went to the built-in writer');
  assert.ok(reads.every(([fd, max]) => fd === 0 && max >= 1));
  /* Queued writes go out together: fewer host writes than result lines. */
  assert.ok(written.length < expectedLines.length, `${written.length} host writes`);

  /* unregister: the built-in is back. */
  const rt2 = await load(lines(), { stdout: (l) => out.push(l), stdin: 'sleep 0 a\n' });
  rt2.register('tideloop:fd_write', () => {
    throw Object.assign(new Error('disk on fire'), { code: 'EIO' });
  });
  assert.equal(rt2.unregister('tideloop:fd_write'), true);
  try {
    assert.equal(await rt2.main(['lines', '-q']), 0);
  } finally {
    rt2.close();
  }
  assert.deepEqual(out, ['a: ok after 0 ms', 'lines=1 ok=1 failed=0 timed_out=0']);
});

test('a failing fd_write: the C program sees the error and exits 2', async () => {
  const err = [];
  const rt = await load(lines(), { stdin: INPUT, stdout: () => {}, stderr: (l) => err.push(l) });
  rt.register('tideloop:fd_write', () => {
    throw Object.assign(new Error('reader went away'), { code: 'EPIPE' });
  });
  try {
    assert.equal(await rt.main(['lines', '-q']), 2);
  } finally {
    rt.close();
  }
  assert.ok(err.includes('lines: writing stdout: broken pipe'), err.join('\n'));
});

test('options.stdin of the wrong type is refused at load', async () => {
  await assert.rejects(load(lines(), { stdin: 42 }), TypeError);
});
