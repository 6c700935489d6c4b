// bundlers.test.mjs: the package as a web app gets it. `npm pack` in js/ (its
// prepack builds the shipped modules), the tarball installed offline into a
// fresh project, then each of js/README.md's browser recipes built as a user
// builds it and run in headless Chromium (Debian's, driven by puppeteer-core):
//
//   vite/      `vite build`: the shipped wasm through `?url`, and an app's own
//              wasm through new URL('./own.wasm', import.meta.url)
//   esbuild/   `esbuild --bundle --loader:.wasm=file`
//   importmap/ no bundler: a page whose import map points at node_modules
//
// Each dist/ (the project itself for the import map) is served on 127.0.0.1 by
// serve.mjs (application/wasm), and the page must show what the C coroutine
// job() returned: the module loaded, C ran its timers and awaited a JS host
// function, rt.call() resolved. A missing chromium fails every test here.
// Screenshots: build/browser-artifacts/bundlers/.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  cpSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';
import { serve } from './serve.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const CHROMIUM = process.env.TIDE_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = resolve(ROOT, 'build/browser-artifacts/bundlers');
const MODULES = resolve(HERE, 'node_modules');

const tmp = mkdtempSync(join(tmpdir(), 'tideloop-bundlers-'));
const project = join(tmp, 'app');
const QUIET_NPM = { npm_config_update_notifier: 'false', npm_config_fund: 'false',
  npm_config_audit: 'false', npm_config_loglevel: 'error' };

/* What each page must show: job(id, 3 steps, ...) gets 40 bytes per step. */
const line = (id) => `job ${id}: 120 bytes from 3 calls to fetch_text\n`;

function run(cmd, args, opts = {}) {
  return new Promise((ok) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 300_000, maxBuffer: 16 << 20, ...opts },
      (err, stdout, stderr) => ok({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
  });
}

/* Once for every test: pack, install into a fresh project, copy the apps in,
 * launch Chromium. */
let ready;
function setup() {
  ready ??= (async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: bash scripts/ensure-deps.sh chromium (or set TIDE_CHROMIUM)`);
    }
    const env = { ...process.env, ...QUIET_NPM, npm_config_cache: join(tmp, 'npm-cache') };
    const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp],
      { cwd: join(ROOT, 'js'), env });
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.stderr}`);
    const tgz = join(tmp, JSON.parse(packed.stdout)[0].filename);
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'),
      JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
    const installed = await run('npm', ['install', '--offline', tgz], { cwd: project, env });
    assert.equal(installed.code, 0, `npm install failed:\n${installed.stdout}${installed.stderr}`);
    cpSync(join(HERE, 'apps'), project, { recursive: true });
    /* The Vite app's "own" module: any module will do; this one is known to
     * export job(). */
    copyFileSync(join(project, 'node_modules/tideloop/wasm/browser-demo.wasm'),
      join(project, 'vite/own.wasm'));
    mkdirSync(ARTIFACTS, { recursive: true });
    const browser = await puppeteer.launch({
      browser: 'chrome',
      executablePath: CHROMIUM,
      headless: true,
      timeout: 60_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    return { browser };
  })();
  return ready;
}

after(async () => {
  const s = await ready?.catch(() => null);
  await s?.browser.close().catch(() => {});
  rmSync(tmp, { recursive: true, force: true });
});

/* Serves `dir`, opens `path` in Chromium, waits for the page to finish and
 * returns what #out shows; the page's console and the server's requests go
 * into a failure's message. */
async function openPage(name, dir, path = '/') {
  const { browser } = await setup();
  const server = await serve(dir);
  const page = await browser.newPage();
  const log = [];
  page.on('console', (m) => log.push(`[${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e?.stack ?? e}`));
  try {
    await page.goto(server.url + path);
    await page.waitForFunction(() => document.getElementById('out')?.dataset.state !== 'running',
      { timeout: 20_000 }).catch((e) => { throw new Error(`the page did not finish: ${e.message}`); });
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
    const state = await page.$eval('#out', (e) => e.dataset.state);
    const text = await page.$eval('#out', (e) => e.textContent);
    return { state, text, requests: server.requests, log };
  } catch (e) {
    e.message += `\n--- page console:\n${log.join('\n')}\n--- requests:\n${server.requests.join('\n')}`;
    throw e;
  } finally {
    await page.close().catch(() => {});
    await server.close();
  }
}

function assertRan(r, ids) {
  const why = `page console:\n${r.log.join('\n')}\nrequests:\n${r.requests.join('\n')}`;
  assert.equal(r.text, ids.map(line).join(''), why);
  assert.equal(r.state, 'done', why);
  assert.deepEqual(r.requests.filter((q) => !q.startsWith('200 ')), [], 'every request found its file');
  assert.ok(r.requests.some((q) => /^200 \S+\.wasm$/.test(q)), `a .wasm was fetched\n${why}`);
}

const wasmIn = (dir) => readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.wasm'));

test('[chromium] Vite: `vite build` emits the wasm (?url, new URL(..., import.meta.url)) and the page calls a task', async () => {
  await setup();
  const app = join(project, 'vite');
  const built = await run(process.execPath, [join(MODULES, 'vite/bin/vite.js'), 'build'], { cwd: app });
  assert.equal(built.code, 0, `vite build failed:\n${built.stdout}${built.stderr}`);
  assert.ok(wasmIn(join(app, 'dist')).length > 0, `vite emitted no .wasm:\n${built.stdout}`);
  const r = await openPage('vite', join(app, 'dist'));
  assertRan(r, [1, 2]);
});

test('[chromium] esbuild: --bundle with the file loader for .wasm, and the page calls a task', async () => {
  await setup();
  const app = join(project, 'esbuild');
  const built = await run(join(MODULES, '.bin/esbuild'),
    ['main.js', '--bundle', '--format=esm', '--loader:.wasm=file', '--outdir=dist', '--log-level=warning'],
    { cwd: app });
  assert.equal(built.code, 0, `esbuild failed:\n${built.stdout}${built.stderr}`);
  assert.equal(built.stderr, '', 'esbuild warned');
  copyFileSync(join(app, 'index.html'), join(app, 'dist/index.html'));
  assert.equal(wasmIn(join(app, 'dist')).length, 1, 'esbuild emitted the .wasm');
  const r = await openPage('esbuild', join(app, 'dist'));
  assertRan(r, [3]);
});

test('[chromium] no bundler: an import map, import.meta.resolve(\'tideloop/wasm/...\'), and the page calls a task', async () => {
  await setup();
  const r = await openPage('importmap', project, '/importmap/');
  assertRan(r, [4]);
});
