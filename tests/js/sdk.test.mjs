// sdk.test.mjs: the C SDK in the package (issue 17, item 5). `npm pack` of js/
// (its prepack builds js/sdk: scripts/build-npm-sdk.sh) must ship tide.h and the
// prebuilt wasm32 libraries; installed offline into an empty project, with
// nothing on PATH but node, npm (npx, and the sh it runs bins with) and the
// compiler (clang and its wasm linker),
// `npx tideloop-cc` must build, without this checkout:
//   - a TIDE_MAIN program that `npx tideloop-run` runs;
//   - a module whose exported coroutine awaits a JS host function (rt.call);
//   - with --wasi, a command that Node's WASI runs;
//   - with --small, the same module from the size build's library, smaller, and
//     one whose trace request fails with TIDE_ENOSYS;
//   - tests/modules/test-module.c, against which the package's suites pass;
// and a compile error must fail with the compiler's diagnostics. emcc, when
// installed, must link the same (clang-built) library into working modules.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, statSync,
  symlinkSync, writeFileSync, chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, run, childEnv } from './examples.mjs';
import { packedTarball } from './pack-lock.mjs';

const CLANG_PACKAGES = 'clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32';
const tmp = mkdtempSync(path.join(tmpdir(), 'tideloop-sdk-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const QUIET_NPM = { npm_config_update_notifier: 'false', npm_config_fund: 'false',
  npm_config_audit: 'false', npm_config_loglevel: 'error' };

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const p = dir && path.join(dir, name);
    if (p && existsSync(p)) return p;
  }
  return null;
}

/* npm's own scripts (npm-cli.js, npx-cli.js), run by the node on PATH. */
function npmScript(name) {
  const onp = onPath(name);
  if (onp) return realpathSync(onp);
  const guess = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm',
    'bin', `${name}-cli.js`);
  if (existsSync(guess)) return guess;
  throw new Error(`${name} not found on PATH`);
}

/* The compiler the restricted PATH gets: the first clang tideloop-cc would try,
 * with every wasm-ld it may run. Missing is a failure: CI installs clang-14
 * (scripts/test.sh js runs scripts/ensure-deps.sh). */
function compilerLinks() {
  const clang = ['clang', ...[19, 18, 17, 16, 15, 14].map((v) => `clang-${v}`)]
    .map((name) => ({ name, file: onPath(name) })).find((c) => c.file);
  if (!clang) {
    throw new Error(`no clang on PATH: the SDK test needs it (Debian: apt-get install ${CLANG_PACKAGES})`);
  }
  const linkers = ['wasm-ld', ...[19, 18, 17, 16, 15, 14].map((v) => `wasm-ld-${v}`)]
    .map((name) => ({ name, file: onPath(name) })).filter((l) => l.file);
  return [clang, ...linkers];
}

const MAIN_C = `/* A TIDE_MAIN program: one task prints its arguments after a timer. */
#include <stdio.h>

#include "tide.h"

typedef struct {
  int argc;
  char **argv;
} args_t;

static args_t args;

struct frame {
  int i;
  int rc;
};

static int main_task(tide_task *t, void *frame) {
  struct frame *f = frame;
  TIDE_BEGIN(t);
  TIDE_SLEEP(t, 5, f->rc);
  for (f->i = 1; f->i < args.argc; f->i++) printf("arg %d: %s\\n", f->i, args.argv[f->i]);
  printf("slept, rc=%d\\n", f->rc);
  tide_main_exit(tide_task_loop(t), 3);
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  args.argc = argc;
  args.argv = argv;
  return tide_task_spawn(loop, main_task, NULL, sizeof(struct frame), NULL);
}

TIDE_MAIN(setup)
`;
const MAIN_EXPECTED = 'arg 1: one\narg 2: two words\nslept, rc=0\n';

const MODULE_C = `/* An exported coroutine that awaits the JS host function "double". */
#include "tide.h"

struct frame {
  tide_future f;
  int rc;
  tide_value v;
};

static int twice_plus_one(tide_task *t, void *frame) {
  struct frame *f = frame;
  TIDE_BEGIN(t);
  {
    const tide_value *args;
    size_t n;
    tide_task_args(t, &args, &n);
    if (n != 1 || args[0].type != TIDE_VALUE_DOUBLE)
      TIDE_RETURN_ERROR(t, TIDE_EINVAL, "twice_plus_one(x) takes a number");
    tide_future_init(tide_task_loop(t), &f->f);
    f->rc = tide_host_call(tide_task_loop(t), "double", args, 1, &f->f);
  }
  if (f->rc == 0) TIDE_AWAIT(t, &f->f, f->rc);
  if (f->rc == 0) f->rc = tide_future_result(&f->f, &f->v);
  tide_future_release(&f->f);
  if (f->rc != 0) TIDE_RETURN_ERROR(t, f->rc, "the host call failed");
  if (f->v.type != TIDE_VALUE_DOUBLE) TIDE_RETURN_ERROR(t, TIDE_EINVAL, "double gave no number");
  TIDE_RETURN_DOUBLE(t, f->v.as.d + 1);
  TIDE_END(t);
}

static int setup(tide_loop *loop, int argc, char **argv) {
  (void)argc;
  (void)argv;
  return tide_export_task(loop, "twice_plus_one", twice_plus_one, sizeof(struct frame));
}

TIDE_MAIN(setup)
`;

const CONSUMER = `import { load } from 'tideloop';

const rt = await load(process.argv[2]);
rt.register('double', async (x) => {
  await new Promise((r) => setTimeout(r, 5));
  return 2 * x;
});
console.log('unsupported imports: ' + JSON.stringify(rt.unsupportedImports));
console.log('main: ' + await rt.main(['module']));
console.log('twice_plus_one(20): ' + await rt.call('twice_plus_one', [20]));
console.log('close: ' + rt.close());
`;
const CONSUMER_EXPECTED = 'unsupported imports: []\nmain: 0\ntwice_plus_one(20): 41\nclose: 0\n';

const BAD_C = `#include "tide.h"

static int setup(tide_loop *loop, int argc, char **argv) {
  return tide_task_spawn(loop, argc, argv);
}

TIDE_MAIN(setup)
`;

/* The suites build-routes.test.mjs runs against test-module.c built its way. */
const SUITES = ['calls', 'cancel', 'errors', 'host', 'hostile', 'load', 'values']
  .map((n) => path.join(ROOT, 'tests', 'js', `${n}.test.mjs`));

let project; /* the consumer project, with tideloop installed */
let env; /* node, npm, npx and the compiler on PATH */
const npx = (args, options = {}) => run(process.execPath, [npmScript('npx'), ...args],
  { cwd: project, env, ...options });

before(async () => {
  const npm = npmScript('npm');
  const { tgz, info } = await packedTarball({ npm, env: childEnv(QUIET_NPM),
    dest: path.join(tmp, 'pack') });
  const files = new Map(info.files.map((f) => [f.path, f.size]));
  const sdk = [...files.keys()].filter((f) => f.startsWith('sdk/')).sort();
  assert.deepEqual(sdk, ['sdk/include/tide.h', 'sdk/include/tide/private.h',
    'sdk/lib/wasm32-js-small/exports.txt', 'sdk/lib/wasm32-js-small/libtideloop.a',
    'sdk/lib/wasm32-js/exports.txt', 'sdk/lib/wasm32-js/libtideloop.a',
    'sdk/lib/wasm32-wasi/libtideloop.a', 'sdk/sdk.json']);
  assert.ok(files.has('bin/tideloop-cc.mjs'));
  process.stderr.write(`sdk.test: ${info.filename}: ${info.size} bytes packed, ${info.unpackedSize} unpacked; ` +
    `${sdk.map((f) => `${f} ${files.get(f)}`).join(', ')}\n`);

  const bin = path.join(tmp, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  symlinkSync(npm, path.join(bin, 'npm'));
  symlinkSync(npmScript('npx'), path.join(bin, 'npx'));
  /* npx (npm exec) runs a package's bin through `sh -c`. */
  symlinkSync(realpathSync(onPath('sh') ?? '/bin/sh'), path.join(bin, 'sh'));
  for (const { name, file } of compilerLinks()) symlinkSync(file, path.join(bin, name));
  env = { HOME: tmp, PATH: bin, npm_config_cache: path.join(tmp, 'npm-cache'),
    npm_config_offline: 'true', ...QUIET_NPM };

  project = path.join(tmp, 'app');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const installed = await run(process.execPath, [npm, 'install', '--offline', tgz],
    { cwd: project, env });
  assert.equal(installed.code, 0, `npm install failed:\n${installed.stdout}${installed.stderr}`);
  /* The shipped header is the repository's, as is the export list. */
  const shipped = path.join(project, 'node_modules', 'tideloop', 'sdk');
  assert.equal(readFileSync(path.join(shipped, 'include', 'tide.h'), 'utf8'),
    readFileSync(path.join(ROOT, 'include', 'tide.h'), 'utf8'));
  assert.deepEqual(readFileSync(path.join(shipped, 'lib', 'wasm32-js', 'exports.txt'), 'utf8')
    .trim().split('\n'), readFileSync(path.join(ROOT, 'src', 'backend', 'js', 'exports.txt'), 'utf8')
    .split('\n').filter((l) => /^[A-Za-z_]\w*$/.test(l)));
  writeFileSync(path.join(project, 'main.c'), MAIN_C);
  writeFileSync(path.join(project, 'module.c'), MODULE_C);
  writeFileSync(path.join(project, 'bad.c'), BAD_C);
  writeFileSync(path.join(project, 'consumer.mjs'), CONSUMER);
});

test('tideloop-cc: a TIDE_MAIN program, run by tideloop-run', async (t) => {
  const started = Date.now();
  const b = await npx(['tideloop-cc', 'main.c', '-o', 'main.wasm']);
  t.diagnostic(`npx tideloop-cc main.c: ${Date.now() - started} ms (with npx's start)`);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stderr, '', 'a clean build prints nothing');
  const r = await npx(['tideloop-run', 'main.wasm', 'one', 'two words']);
  assert.equal(r.stdout, MAIN_EXPECTED, r.stderr);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 3);
});

test('tideloop-cc: an exported coroutine awaiting a JS host function', async () => {
  const b = await npx(['tideloop-cc', '-Wall', '-Wextra', '-Werror', 'module.c']);
  assert.equal(b.code, 0, b.stderr);
  assert.ok(statSync(path.join(project, 'module.wasm')).size > 1000, 'default output: module.wasm');
  const r = await run(process.execPath, ['consumer.mjs', 'module.wasm'], { cwd: project, env });
  assert.equal(r.stdout, CONSUMER_EXPECTED, r.stderr);
  assert.equal(r.stderr, '');
});

test('tideloop-cc --wasi: a WASI command, run by node:wasi', async () => {
  const b = await npx(['tideloop-cc', '--wasi', 'main.c', '-o', 'main-wasi.wasm']);
  assert.equal(b.code, 0, b.stderr);
  const mod = await WebAssembly.compile(readFileSync(path.join(project, 'main-wasi.wasm')));
  assert.ok(WebAssembly.Module.exports(mod).some((e) => e.name === '_start'), 'a command');
  assert.ok(WebAssembly.Module.imports(mod).every((i) => i.module === 'wasi_snapshot_preview1'));
  const r = await run(process.execPath, ['--no-warnings', path.join(ROOT, 'wasm', 'run-wasi.mjs'),
    'main-wasi.wasm', 'one', 'two words'], { cwd: project, env });
  assert.equal(r.stdout, MAIN_EXPECTED, r.stderr);
  assert.equal(r.code, 3);
});

test('tideloop-cc --small: the same module from the size build, smaller, without tracing', async () => {
  const b = await npx(['tideloop-cc', '--small', 'module.c', '-o', 'module-small.wasm']);
  assert.equal(b.code, 0, b.stderr);
  const r = await run(process.execPath, ['consumer.mjs', 'module-small.wasm'], { cwd: project, env });
  assert.equal(r.stdout, CONSUMER_EXPECTED, r.stderr);
  assert.equal(r.stderr, '');
  const small = statSync(path.join(project, 'module-small.wasm')).size;
  const normal = statSync(path.join(project, 'module.wasm')).size;
  assert.ok(small < normal * 0.7, `--small ${small} bytes, default ${normal}`);

  writeFileSync(path.join(project, 'trace.c'), '#include "tide.h"\n' +
    'static int setup(tide_loop *l, int c, char **v) {\n  (void)c; (void)v;\n' +
    '  return tide_loop_trace_start(l, 100) == TIDE_ENOSYS ? 0 : 1;\n}\nTIDE_MAIN(setup)\n');
  const t = await npx(['tideloop-cc', '--small', 'trace.c']);
  assert.equal(t.code, 0, t.stderr);
  assert.equal((await npx(['tideloop-run', 'trace.wasm'])).code, 0, 'TIDE_ENOSYS in the size build');

  const w = await npx(['tideloop-cc', '--small', '--wasi', 'main.c']);
  assert.equal(w.code, 2);
  assert.match(w.stderr, /--small is for the JS host/);
});

test('tideloop-cc: a compile error fails with the compiler\'s diagnostics', async () => {
  const b = await npx(['tideloop-cc', 'bad.c', '-o', 'bad.wasm']);
  assert.notEqual(b.code, 0);
  assert.match(b.stderr, /bad\.c:4:\d+: error: /);
  assert.ok(!existsSync(path.join(project, 'bad.wasm')), 'no module written');
  const u = await npx(['tideloop-cc', 'missing.c']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /^tideloop-cc: error: no such file: missing\.c$/m);
});

test('tideloop-cc names the Debian package when clang has no wasi-libc', async () => {
  /* A clang whose sysroot is empty: as a machine without wasi-libc. */
  const real = compilerLinks()[0].file;
  const fake = path.join(tmp, 'clang-no-libc');
  writeFileSync(fake, `#!/bin/sh\nexec "${real}" --sysroot=${path.join(tmp, 'empty-sysroot')} "$@"\n`);
  chmodSync(fake, 0o755);
  const b = await npx(['tideloop-cc', '--cc', fake, 'main.c', '-o', 'no-libc.wasm']);
  assert.equal(b.code, 1);
  assert.match(b.stderr, /cannot build for wasm32-wasi: missing wasi-libc \(Debian: wasi-libc\)/);
  assert.ok(!existsSync(path.join(project, 'no-libc.wasm')));
});

test('the package suites pass against test-module.c built by tideloop-cc', async () => {
  const mod = path.join(tmp, 'test-module-clang.wasm');
  const b = await npx(['tideloop-cc', path.join(ROOT, 'tests', 'modules', 'test-module.c'), '-o', mod]);
  assert.equal(b.code, 0, b.stderr);
  const r = await run(process.execPath, ['--test', ...SUITES],
    { cwd: ROOT, env: childEnv({ TIDE_TEST_MODULE: mod }) });
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^# fail 0$/m);
});

test('tideloop-cc --cc emcc links the same library', async (t) => {
  if (!onPath('emcc')) {
    t.skip('emcc is not installed (Debian: apt-get install emscripten)');
    return;
  }
  /* emcc is a Python program that runs clang, wasm-ld, binaryen and shell
   * tools: it gets the system's PATH. */
  const emccEnv = { ...env, PATH: `${env.PATH}${path.delimiter}${process.env.PATH}` };
  const b = await npx(['tideloop-cc', '--cc', 'emcc', 'module.c', '-o', 'module-emcc.wasm'],
    { env: emccEnv });
  assert.equal(b.code, 0, b.stderr);
  const r = await run(process.execPath, ['consumer.mjs', 'module-emcc.wasm'], { cwd: project, env });
  assert.equal(r.stdout, CONSUMER_EXPECTED, r.stderr);

  await t.test('and the package suites pass against its test-module.c', async () => {
    const mod = path.join(tmp, 'test-module-emcc.wasm');
    const m = await npx(['tideloop-cc', '--cc', 'emcc',
      path.join(ROOT, 'tests', 'modules', 'test-module.c'), '-o', mod], { env: emccEnv });
    assert.equal(m.code, 0, m.stderr);
    const s = await run(process.execPath, ['--test', ...SUITES],
      { cwd: ROOT, env: childEnv({ TIDE_TEST_MODULE: mod }) });
    assert.equal(s.code, 0, `${s.stdout}\n${s.stderr}`);
    assert.match(s.stdout, /^# fail 0$/m);
  });

  await t.test('a function nobody defines fails the build, not the load', async () => {
    writeFileSync(path.join(project, 'undef.c'), '#include "tide.h"\nint nowhere(void);\n' +
      'static int setup(tide_loop *l, int c, char **v) {\n  (void)l; (void)c; (void)v;\n' +
      '  return nowhere();\n}\nTIDE_MAIN(setup)\n');
    const u = await npx(['tideloop-cc', '--cc', 'emcc', 'undef.c'], { env: emccEnv });
    assert.equal(u.code, 1);
    assert.match(u.stderr, /undefined symbols \(not a tideloop or WASI import\): nowhere/);
    assert.ok(!existsSync(path.join(project, 'undef.wasm')));
  });
});

test('tideloop-cc --help', async () => {
  const h = await npx(['tideloop-cc', '--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /^usage: tideloop-cc \[options\] SOURCE\.c\.\.\./);
  assert.match(h.stdout, /--wasi/);
  assert.ok(readdirSync(path.join(project, 'node_modules', '.bin')).includes('tideloop-cc'));
});
