// pack.test.mjs: what a JS user gets. `npm pack` in js/ (its prepack builds the
// prebuilt modules: scripts/build-npm-wasm.sh) must give a tarball with the
// runtime, types, README, CHANGELOG, LICENSE and wasm/*.wasm and nothing
// else; installed offline into a fresh project, it must run the shipped fetch.wasm (and lines.wasm,
// through the package's runner, when shipped) with nothing but node on PATH:
// no compiler, no other package.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtempSync, mkdirSync, rmSync, readdirSync, readFileSync, realpathSync, symlinkSync,
  writeFileSync, existsSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, run, childEnv } from './examples.mjs';
import { packedTarball, withPackLock } from './pack-lock.mjs';

const PACKAGE_DIR = path.join(ROOT, 'js');
const tmp = mkdtempSync(path.join(tmpdir(), 'tideloop-pack-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/* npm's own script, run with this node: the restricted PATH below has no npm. */
function npmCli() {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const npm = dir && path.join(dir, 'npm');
    if (npm && existsSync(npm)) return realpathSync(npm);
  }
  const guess = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm',
    'bin', 'npm-cli.js');
  if (existsSync(guess)) return guess;
  throw new Error('npm not found on PATH');
}

const QUIET_NPM = { npm_config_update_notifier: 'false', npm_config_fund: 'false',
  npm_config_audit: 'false', npm_config_loglevel: 'error' };

/* The consumer: the shipped fetch.wasm through `tideloop`, against a server
 * with a route that answers and one that never does. */
const CONSUMER = `import http from 'node:http';
import { createRequire } from 'node:module';
import { load, TideError } from 'tideloop';

let aborted;
const abortSeen = new Promise((r) => { aborted = r; });
const server = http.createServer((req, res) => {
  if (req.url === '/slow') {
    res.on('close', () => aborted(!res.writableFinished));
    return;
  }
  res.end('hi ' + req.url);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const base = 'http://127.0.0.1:' + server.address().port;

const rt = await load(new URL(import.meta.resolve('tideloop/wasm/fetch.wasm')));
rt.register('http_get', async (url, { signal }) => {
  const res = await fetch(url, { signal });
  return { status: res.status, body: await res.text() };
});
const code = await rt.main(['fetch', '-t', '300', base + '/a', base + '/slow']);
rt.close();
const seen = await Promise.race([abortSeen, new Promise((r) => setTimeout(r, 5000, 'no'))]);
server.closeAllConnections();
server.close();
console.log('server: the client aborted /slow: ' + seen);
console.log('TideError is exported: ' + (typeof TideError === 'function'));
console.log('require() gives the same package: ' +
  (createRequire(import.meta.url)('tideloop').TideError === TideError));
console.log('exit status ' + code);
`;

const CONSUMER_EXPECTED = `fetching 2 URLs, at most 2 at a time, 300 ms timeout each
/a       200, 5 bytes: hi /a
/slow    timed out after 300 ms
1 of 2 got a response, 1 failed; at most 2 requests were in flight
server: the client aborted /slow: true
TideError is exported: true
require() gives the same package: true
exit status 1
`;

test('npm pack, install offline, run the shipped modules with only node', async (t) => {
  const npm = npmCli();

  /* 1. Pack (once per run, shared with the other suites that install it):
   * prepack builds js/wasm/*.wasm and js/sdk first. */
  const { tgz, info, reused } = await packedTarball({ npm, env: childEnv(QUIET_NPM),
    dest: path.join(tmp, 'pack') });
  if (reused) t.diagnostic('the tarball another suite of this run packed');
  const files = info.files.map((f) => f.path).sort();
  t.diagnostic(`${info.filename}: ${info.size} bytes packed, ${info.unpackedSize} unpacked; ` +
    info.files.filter((f) => f.path.startsWith('wasm/')).map((f) => `${f.path} ${f.size}`).join(', '));

  /* 2. Exactly the allow-list: the sources, the runners, types, README,
   * changelog, licence, the manifest, the modules and the C SDK (its files
   * are checked by sdk.test.mjs); no tests, lock file, node_modules or
   * scripts. */
  const wasm = files.filter((f) => f.startsWith('wasm/'));
  const expected = [
    'CHANGELOG.md', 'LICENSE', 'README.md', 'index.d.ts', 'package.json',
    ...readdirSync(path.join(PACKAGE_DIR, 'src')).map((f) => `src/${f}`),
    ...(existsSync(path.join(PACKAGE_DIR, 'bin'))
      ? readdirSync(path.join(PACKAGE_DIR, 'bin')).map((f) => `bin/${f}`) : []),
  ].sort();
  assert.deepEqual(files.filter((f) => !f.startsWith('wasm/') && !f.startsWith('sdk/')), expected);
  for (const m of ['fetch', 'quickstart']) {
    assert.ok(wasm.includes(`wasm/${m}.wasm`), `${m}.wasm is shipped (${wasm.join(', ')})`);
  }
  for (const f of info.files.filter((x) => x.path.startsWith('wasm/'))) {
    assert.match(f.path, /^wasm\/[\w-]+\.wasm$/);
    assert.ok(f.size > 1000, `${f.path} is ${f.size} bytes`);
  }

  /* 3. A fresh project, and a PATH with node alone: no compiler, no npm. */
  const project = path.join(tmp, 'consumer');
  const bin = path.join(tmp, 'bin');
  mkdirSync(project);
  mkdirSync(bin);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  assert.deepEqual(readdirSync(bin), ['node']);
  const env = { HOME: tmp, PATH: bin, npm_config_cache: path.join(tmp, 'npm-cache'), ...QUIET_NPM };
  writeFileSync(path.join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
  const installed = await run(process.execPath, [npm, 'install', '--offline', tgz],
    { cwd: project, env });
  assert.equal(installed.code, 0, `npm install failed:\n${installed.stdout}${installed.stderr}`);
  assert.deepEqual(readdirSync(path.join(project, 'node_modules')).filter((f) => !f.startsWith('.')),
    ['tideloop'], 'no other package was installed');

  /* 4. fetch.wasm, from the package, through `import 'tideloop'`. */
  writeFileSync(path.join(project, 'run-fetch.mjs'), CONSUMER);
  const r = await run(process.execPath, ['run-fetch.mjs'], { cwd: project, env });
  assert.equal(r.stdout, CONSUMER_EXPECTED, r.stderr);
  assert.equal(r.stderr, '');

  /* 5. lines.wasm, when shipped, through the package's runner, on the sample:
   * the same stdout as the native build. */
  if (wasm.includes('wasm/lines.wasm')) {
    const pkgDir = path.join(project, 'node_modules', 'tideloop');
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    const runner = pkg.bin?.['tideloop-run']
      ? path.join(project, 'node_modules', '.bin', 'tideloop-run') /* the installed command */
      : path.join(pkgDir, 'bin', 'tideloop-run.mjs');
    assert.ok(existsSync(runner), `${runner} exists`);
    const argv = runner.endsWith('.mjs') ? [process.execPath, runner] : [runner];
    const lines = spawnSync(argv[0], [...argv.slice(1), path.join(pkgDir, 'wasm', 'lines.wasm')], {
      cwd: project, env, encoding: 'utf8', timeout: 30_000,
      input: readFileSync(path.join(ROOT, 'examples', 'lines-input.txt')),
    });
    assert.equal(lines.stdout, readFileSync(path.join(ROOT, 'examples', 'lines-expected.txt'), 'utf8'),
      lines.stderr);
    assert.equal(lines.status, 1);
  } else {
    t.diagnostic('lines.wasm is not shipped (examples/CMakeLists.txt does not build it for the JS host)');
  }
});

test('npm pack fails, naming why, when the prebuilt modules cannot be built', async () => {
  /* A PATH with the shell tools the scripts use but no cmake: prepack must stop
   * the pack (no tarball) and say what is missing, leaving js/wasm as it was. */
  const bin = path.join(tmp, 'bin-no-cmake');
  mkdirSync(bin);
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const tool of ['sh', 'bash', 'node', 'dirname', 'mkdir', 'cat', 'rm', 'cp', 'head',
    'od', 'tr', 'wc', 'getconf']) {
    const dir = dirs.find((d) => existsSync(path.join(d, tool)));
    if (dir) symlinkSync(realpathSync(path.join(dir, tool)), path.join(bin, tool));
  }
  const packDir = path.join(tmp, 'pack-fail');
  mkdirSync(packDir);
  const wasmDir = path.join(PACKAGE_DIR, 'wasm');
  const before = existsSync(wasmDir) ? readdirSync(wasmDir).sort() : [];
  const r = await withPackLock(() => run(process.execPath,
    [npmCli(), 'pack', '--pack-destination', packDir],
    { cwd: PACKAGE_DIR, env: { HOME: tmp, PATH: bin, ...QUIET_NPM } }));
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /build-npm-wasm: cmake is not installed/);
  assert.match(r.stderr, /nothing was packed/);
  assert.deepEqual(readdirSync(packDir), []);
  assert.deepEqual(existsSync(wasmDir) ? readdirSync(wasmDir).sort() : [], before);
});
