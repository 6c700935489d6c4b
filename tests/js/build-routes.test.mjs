// build-routes.test.mjs: the two ways js/README.md gives a user to build their
// own C for the JS host without CMake, scripts/build-js-module.sh --cc clang
// and --cc emcc. For each: build tests/modules/test-module.c, check the module's
// imports are all ones the package provides (emcc's standalone modules import
// only what they use, and not quite what wasi-libc does) and its exports are
// the ABI's, then run a subset of the package's suites against it, grow its
// memory, and build and run examples/fetch.c with it. A compiler that is not
// installed is skipped, saying so (scripts/test.sh installs both for the js
// configuration).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { load } from '../../js/src/node.mjs';
import { REQUIRED_EXPORTS } from '../../js/src/imports.mjs';
import { wasiImports } from '../../js/src/wasi.mjs';
import { readFile } from 'node:fs/promises';
import { ROOT, run, childEnv, runFetchExample, FETCH_EXPECTED } from './examples.mjs';

const SCRIPT = path.join(ROOT, 'scripts', 'build-js-module.sh');
/* Suites that exercise the whole ABI through the test module (the slow drive
 * and keepalive suites, and the ones that do not load a module, are left out). */
const SUITES = ['calls', 'cancel', 'errors', 'host', 'hostile', 'load', 'values']
  .map((n) => path.join(ROOT, 'tests', 'js', `${n}.test.mjs`));
/* src/backend/js/ABI.md, "Imports". */
const TIDELOOP_IMPORTS = ['now_ms', 'schedule', 'report', 'host_start', 'host_cancel', 'call_done'];
/* What js/src/wasi.mjs implements (everything else would be an ENOSYS stub). */
const WASI_PROVIDED = Object.keys(wasiImports({
  memory: () => null, stdout: null, stderr: null, args: [], env: [], onExit() {},
}));
const INSTALL_HINT = {
  clang: 'apt-get install clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32',
  emcc: 'apt-get install emscripten',
};

const tmp = mkdtempSync(path.join(tmpdir(), 'tideloop-routes-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function onPath(cmd) {
  return (process.env.PATH ?? '').split(path.delimiter)
    .some((dir) => dir && existsSync(path.join(dir, cmd)));
}

function build(cc, out, ...sources) {
  return run('bash', [SCRIPT, '--cc', cc, '-o', out, ...sources], { cwd: ROOT });
}

async function checkInterface(t, file) {
  const module = await WebAssembly.compile(await readFile(file));
  const imports = WebAssembly.Module.imports(module);
  const exports = WebAssembly.Module.exports(module).map((e) => e.name);
  t.diagnostic(`${path.basename(file)}: ${statSync(file).size} bytes; imports ` +
    imports.map((i) => `${i.module}.${i.name}`).join(' '));
  for (const name of [...REQUIRED_EXPORTS, '_initialize']) {
    assert.ok(exports.includes(name), `exports ${name}`);
  }
  for (const { module: mod, name, kind } of imports) {
    const full = `${mod}.${name}`;
    assert.equal(kind, 'function', full);
    if (mod === 'tideloop') assert.ok(TIDELOOP_IMPORTS.includes(name), full);
    else if (mod === 'wasi_snapshot_preview1') {
      assert.ok(WASI_PROVIDED.includes(name), `${full} is not provided by js/src/wasi.mjs`);
    } else {
      /* emcc's standalone modules announce memory growth; the host ignores it. */
      assert.equal(full, 'env.emscripten_notify_memory_growth');
    }
  }
}

for (const cc of ['clang', 'emcc']) {
  test(`build-js-module.sh --cc ${cc}: the test module works on the JS host`, async (t) => {
    if (!onPath(cc)) {
      t.skip(`${cc} is not installed (Debian: ${INSTALL_HINT[cc]})`);
      return;
    }
    const mod = path.join(tmp, `test-module-${cc}.wasm`);
    const b = await build(cc, mod, 'tests/modules/test-module.c');
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`wrote .*test-module-${cc}\\.wasm \\(\\d+ bytes, ${cc} -O2\\)`));
    assert.equal(b.stderr, '', 'a clean build prints no warnings');
    await checkInterface(t, mod);

    await t.test('it loads with no stubbed import, runs main and a call', async () => {
      const out = [];
      const rt = await load(mod, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
      assert.deepEqual(rt.unsupportedImports, []);
      assert.equal(await rt.main(['t', '4', 'from main']), 4);
      assert.deepEqual(out, ['4', 'from main']);
      assert.equal(await rt.call('add', [40, 2]), 42);
      assert.equal(rt.close(), 0);
    });

    await t.test('its memory grows: 24 MiB through echo() and back', async () => {
      const rt = await load(mod, { stdout() {}, stderr() {} });
      assert.equal(await rt.main(['t']), 0);
      const big = new Uint8Array(24 << 20).map((_, i) => i & 0xff);
      const back = await rt.call('echo', [big]);
      assert.equal(back.length, big.length);
      assert.equal(back[12345], 12345 & 0xff);
      assert.equal(rt.close(), 0);
    });

    await t.test('the package suites pass against it', async () => {
      const r = await run(process.execPath, ['--test', ...SUITES],
        { cwd: ROOT, env: childEnv({ TIDE_TEST_MODULE: mod }) });
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^# fail 0$/m);
    });

    await t.test('an undefined function fails the build, named', async () => {
      /* emcc would make it an import that fails only at load; the script checks. */
      const src = path.join(tmp, `undefined-${cc}.c`);
      writeFileSync(src, '#include "tide.h"\nint not_defined_anywhere(int x);\n' +
        'static int setup(tide_loop *loop, int argc, char **argv) {\n' +
        '  (void)loop;\n  (void)argv;\n  return not_defined_anywhere(argc);\n}\n' +
        'TIDE_MAIN(setup)\n');
      const out = path.join(tmp, `undefined-${cc}.wasm`);
      const r = await build(cc, out, src);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /not_defined_anywhere/);
      assert.ok(!existsSync(out), 'no module is left behind');
    });

    await t.test('examples/fetch.c built with it prints the expected output', async () => {
      const fetchWasm = path.join(tmp, `fetch-${cc}.wasm`);
      const fb = await build(cc, fetchWasm, 'examples/fetch.c');
      assert.equal(fb.code, 0, fb.stderr);
      const r = await runFetchExample(fetchWasm);
      assert.equal(r.stdout, FETCH_EXPECTED, r.stderr);
      assert.equal(r.code, 1);
    });
  });
}

test('CMake: a project that add_subdirectory()s tideloop builds a working module with ' +
  'tide_add_js_module', async (t) => {
  if (!onPath('cmake') || !onPath('clang')) {
    t.skip(`cmake or clang is not installed (Debian: apt-get install cmake ${INSTALL_HINT.clang})`);
    return;
  }
  const src = path.join(tmp, 'cmake-project');
  const bin = path.join(tmp, 'cmake-project-build');
  mkdirSync(src);
  /* The CMakeLists.txt js/README.md shows, with fetch.c as the app. */
  writeFileSync(path.join(src, 'CMakeLists.txt'), [
    'cmake_minimum_required(VERSION 3.20)',
    'project(app C)',
    `add_subdirectory(${JSON.stringify(ROOT)} tideloop)`,
    'tide_add_js_module(app app.c)',
    '',
  ].join('\n'));
  writeFileSync(path.join(src, 'app.c'), await readFile(path.join(ROOT, 'examples', 'fetch.c')));
  let r = await run('cmake', ['-S', src, '-B', bin, '-DCMAKE_BUILD_TYPE=Release',
    `-DCMAKE_TOOLCHAIN_FILE=${path.join(ROOT, 'wasm', 'toolchain-js.cmake')}`]);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  r = await run('cmake', ['--build', bin, '--parallel', '2']);
  assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
  const app = path.join(bin, 'app.wasm');
  await checkInterface(t, app);
  r = await runFetchExample(app);
  assert.equal(r.stdout, FETCH_EXPECTED, r.stderr);
});

test('build-js-module.sh refuses bad usage with status 2 and a reason', async () => {
  let r = await run('bash', [SCRIPT], { cwd: ROOT });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no sources/);
  r = await run('bash', [SCRIPT, 'no/such/file.c'], { cwd: ROOT });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no such source: no\/such\/file\.c/);
  r = await run('bash', [SCRIPT, '--cc', 'gcc', 'tests/modules/test-module.c'], { cwd: ROOT });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /expected clang or emcc/);
  r = await run('bash', [SCRIPT, '--tideloop', tmp, 'tests/modules/test-module.c'], { cwd: ROOT });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a tideloop checkout/);
  r = await run('bash', [SCRIPT, '--help'], { cwd: ROOT });
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--cc clang\|emcc/);
});
