// process.test.mjs: subprocesses on the JS host in Node: C's tide_process_*
// (src/io/hostcall/host_process.c, the front in src/io/process.c) over
// node:child_process (js/src/process.mjs). The C side is
// tests/modules/process-test-module.c (<build>/tests/modules/
// tide-process-test-module.wasm, next to the general test module, or
// TIDE_PROCESS_TEST_MODULE). The same cases natively are
// tests/c/test-native-process.c; examples/check-pmap.mjs runs one program on
// both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync }
  from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { load } from '../../js/src/node.mjs';
import { load as loadWeb } from '../../js/src/index.mjs';
import { errors } from '../../js/src/errors.mjs';
import { MODULE, until } from './helpers.mjs';
import { ROOT, childEnv, requireExampleWasm, run } from './examples.mjs';

const PROCESS_MODULE = process.env.TIDE_PROCESS_TEST_MODULE ??
  join(dirname(MODULE), 'tide-process-test-module.wasm');
const MIB = 1 << 20;

function requireProcessModule() {
  if (!existsSync(PROCESS_MODULE)) {
    throw new Error(`the C process test module is missing: ${PROCESS_MODULE} (build the js ` +
      'config, or set TIDE_PROCESS_TEST_MODULE)');
  }
  return PROCESS_MODULE;
}

async function loadProcesses(t, loader = load) {
  const err = [];
  /* The default entry takes bytes (it reads no files). */
  const source = loader === load ? requireProcessModule() : readFileSync(requireProcessModule());
  const rt = await loader(source, { stdout: () => {}, stderr: (l) => err.push(l) });
  assert.equal(await rt.main(['process']), 0);
  t.after(() => rt.close());
  return { rt, err };
}

/* The checksum of process-test-module.c. */
function checksum(bytes) {
  let s = 0;
  for (let i = 0; i < bytes.length; i++) s = (s + bytes[i] * ((i % 251) + 1)) >>> 0;
  return s;
}

test('200 children at once, every returncode checked (exit statuses and signals)', async (t) => {
  const { rt } = await loadProcesses(t);
  assert.equal(await rt.call('statuses', [200]), 200);
  await until(() => rt._processes.children === 0, 'every child to be reported');
});

test('64 MiB on stdout and on stderr at once, through communicate', async (t) => {
  const { rt } = await loadProcesses(t);
  const n = 64 * MIB;
  const r = await rt.call('sh', [
    `head -c ${n} /dev/zero | tr "\\0" a & head -c ${n} /dev/zero | tr "\\0" b >&2; wait`]);
  assert.equal(r.rc, 0);
  assert.equal(r.timedOut, 0);
  assert.equal(r.out, n);
  assert.equal(r.err, n);
  assert.equal(r.outSum, checksum(new Uint8Array(n).fill(0x61)));
  assert.equal(r.errSum, checksum(new Uint8Array(n).fill(0x62)));
});

test('input goes in through stdin and comes back, byte for byte', async (t) => {
  const { rt } = await loadProcesses(t);
  const input = 'hello\nworld\n'.repeat(5000);
  const r = await rt.call('sh', ['cat', 0, 0, input]);
  assert.deepEqual([r.rc, r.out, r.err], [0, input.length, 0]);
  assert.equal(r.outSum, checksum(new TextEncoder().encode(input)));
});

test('the exact bytes of stdout, and the child environment and cwd are Node\'s', async (t) => {
  const { rt } = await loadProcesses(t);
  process.env.TIDE_PROCESS_TEST = 'from-node';
  t.after(() => delete process.env.TIDE_PROCESS_TEST);
  const out = await rt.call('sh_out', ['printf "%s|%s" "$TIDE_PROCESS_TEST" "$PWD"']);
  assert.equal(new TextDecoder().decode(out), `from-node|${process.cwd()}`);
});

test('a child that never exits is stopped by the timeout: SIGTERM, then SIGKILL', async (t) => {
  const { rt } = await loadProcesses(t);
  const polite = await rt.call('sh', ['echo started; exec sleep 30', 200, 2000]);
  assert.deepEqual([polite.rc, polite.timedOut, polite.out], [-15, 1, 'started\n'.length]);
  const started = Date.now();
  const stubborn = await rt.call('sh', ['trap "" TERM; exec sleep 30', 200, 300]);
  assert.deepEqual([stubborn.rc, stubborn.timedOut], [-9, 1]);
  assert.ok(Date.now() - started < 10_000, 'killed after the grace, not after 30 s');
});

test('spawn failures: a missing program, a program that is not executable, a bad cwd', async (t) => {
  const { rt } = await loadProcesses(t);
  await assert.rejects(rt.call('spawn', ['/nonexistent/program']), (e) =>
    e.code === 'ENOENT' && e.message === 'spawn /nonexistent/program: no such program');
  const dir = mkdtempSync(join(tmpdir(), 'tide-process-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'program');
  writeFileSync(file, '\x7fgarbage', { mode: 0o600 });
  await assert.rejects(rt.call('spawn', [file]), (e) =>
    e.code === 'EACCES' && e.message === `spawn ${file}: not executable (permission denied)`);
  chmodSync(file, 0o700);
  await assert.rejects(rt.call('spawn', [file]), (e) =>
    e.code === 'ENOEXEC' && e.message === `spawn ${file}: not an executable format`);
  await assert.rejects(rt.call('spawn', ['/bin/true', '/nonexistent-dir']), (e) =>
    e.code === 'ENOENT' && e.message === 'cwd /nonexistent-dir: no such directory');
  assert.equal(await rt.call('spawn', ['/bin/true', '/']), 0);
  assert.equal(rt._processes.children, 0);
});

test('writing to a child that exited without reading is EPIPE', async (t) => {
  const { rt } = await loadProcesses(t);
  assert.equal(await rt.call('epipe', [4 * MIB]), errors.EPIPE);
});

test('a kill after the exit is ESRCH; a cancelled wait leaves the child running', async (t) => {
  const { rt } = await loadProcesses(t);
  assert.equal(await rt.call('kill_after_exit'), errors.ESRCH);
  assert.equal(await rt.call('wait_cancelled'), 6);
});

test('a cancelled spawn leaves no child behind', async (t) => {
  const { rt } = await loadProcesses(t);
  assert.equal(await rt.call('cancel_spawn'), 3 /* TIDE_FUTURE_CANCELLED */);
  await until(() => rt._processes.children === 0, 'the dropped child to be killed');
});

test('closing the runtime kills the children it still has', async (t) => {
  const { rt } = await loadProcesses(t);
  const pending = rt.call('sh', ['exec sleep 30']);
  await until(() => rt._processes.children === 1, 'the child to start');
  rt.close();
  await assert.rejects(pending);
  assert.equal(rt._processes.children, 0);
});

test('in a browser (the default entry) a spawn is ENOSYS, naming the host', async (t) => {
  const { rt } = await loadProcesses(t, loadWeb);
  await assert.rejects(rt.call('spawn', ['/bin/true']), (e) =>
    e.code === 'ENOSYS' && /no subprocesses on this host/.test(e.message));
});

test('examples/pmap.c on the JS host: the same stdout, stderr and status as natively', async () => {
  /* check-pmap.mjs holds the expectations the native build is checked against
   * too (ctest's example-pmap-output). */
  const r = await run(process.execPath, [join(ROOT, 'examples', 'check-pmap.mjs'),
    process.execPath, join(ROOT, 'js', 'bin', 'tideloop-run.mjs'), requireExampleWasm('pmap.wasm')],
  { env: childEnv() });
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /^ok - outcomes in input order$/m);
});

test('a spawn error Node names outside the table is EUNKNOWN, never read by its errno', async () => {
  /* Node's errno is libuv's number: E2BIG is -7 on Linux, which is the
   * table's EPENDING, and EPERM is -1, its EINVAL. By name: EPERM means
   * EACCES; E2BIG means nothing in the table. */
  const { createProcesses } = await import('../../js/src/process.mjs');
  const cases = [[{ code: 'E2BIG', errno: -7 }, 'EUNKNOWN'], [{ code: 'EPERM', errno: -1 }, 'EACCES']];
  for (const [fields, want] of cases) {
    const procs = createProcesses({
      childProcess: { spawn: () => { throw Object.assign(new Error(fields.code), fields); } },
      adopt: () => -1, env: () => ({}), isDir: () => true, signals: {}, probe: () => 'ok',
      cwd: () => '/',
    });
    const spawn = procs.functions.get('tideloop:process_spawn');
    await assert.rejects(
      Promise.resolve().then(() => spawn(new TextEncoder().encode('/bin/x\0'), new Uint8Array(0), 0,
        undefined, 0, 0, 0, {})),
      (e) => e.code === want && e.errno === errors[want]);
    procs.close();
  }
});
