// types.test.mjs: js/index.d.ts compiles in a strict TypeScript project under
// each lib setting users have: a browser project (ES2020 or ES2022 with DOM, no
// esnext.disposable, no @types/node), ESNext, and Node projects with
// @types/node (with and without DOM). tsc (this folder's typescript, the same
// version as js/package.json's) runs --noEmit with skipLibCheck off, so the
// .d.ts itself is checked, on tests/js/fixtures/dts-consumer.ts, plus
// dts-dispose.ts where the lib has Symbol.dispose and dts-wasm.ts where it has
// WebAssembly. A missing tsc fails.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const TSC = resolve(HERE, 'node_modules/typescript/bin/tsc');
const FIXTURES = resolve(ROOT, 'tests/js/fixtures');

const BROWSER = { module: 'esnext', moduleResolution: 'bundler', types: [] };
const NODE = { module: 'nodenext', moduleResolution: 'nodenext', types: ['node'] };
const CONSUMER = 'dts-consumer.ts';
const DISPOSE = 'dts-dispose.ts';
const WASM = 'dts-wasm.ts';

const CONFIGS = [
  { name: 'browser: ES2022 + DOM', target: 'es2022', lib: ['es2022', 'dom'], ...BROWSER,
    files: [CONSUMER, WASM] },
  { name: 'browser: ES2020 + DOM + DOM.Iterable', target: 'es2020',
    lib: ['es2020', 'dom', 'dom.iterable'], ...BROWSER, files: [CONSUMER, WASM] },
  { name: 'browser: ES2022 + esnext.disposable + DOM', target: 'es2022',
    lib: ['es2022', 'esnext.disposable', 'dom'], ...BROWSER, files: [CONSUMER, DISPOSE, WASM] },
  { name: 'browser: ESNext + DOM', target: 'esnext', lib: ['esnext', 'dom'], ...BROWSER,
    files: [CONSUMER, DISPOSE, WASM] },
  { name: 'Node: ES2022 + @types/node, no DOM', target: 'es2022', lib: ['es2022'], ...NODE,
    files: [CONSUMER, DISPOSE] },
  { name: 'Node: ESNext + DOM + @types/node', target: 'esnext', lib: ['esnext', 'dom'], ...NODE,
    files: [CONSUMER, DISPOSE, WASM] },
];

/* One project: node_modules/tideloop is js/ (what the package ships as
 * index.d.ts), node_modules/@types this folder's (@types/node). */
const dir = mkdtempSync(join(tmpdir(), 'tideloop-types-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'node_modules'));
symlinkSync(join(ROOT, 'js'), join(dir, 'node_modules', 'tideloop'), 'dir');
symlinkSync(join(HERE, 'node_modules', '@types'), join(dir, 'node_modules', '@types'), 'dir');
for (const f of [CONSUMER, DISPOSE, WASM]) copyFileSync(join(FIXTURES, f), join(dir, f));

function tsc(args) {
  return new Promise((ok) => {
    execFile(process.execPath, [TSC, ...args], { encoding: 'utf8', timeout: 120_000 },
      (err, stdout, stderr) => ok({ code: err ? (err.code ?? 1) : 0, out: stdout + stderr }));
  });
}

test('tsc is installed (npm ci --prefix tests/bundlers)', () => {
  assert.ok(existsSync(TSC), `${TSC} is missing: npm ci --prefix tests/bundlers`);
});

CONFIGS.forEach(({ name, files, ...options }, i) => {
  test(`index.d.ts compiles (strict): ${name}`, async () => {
    const config = join(dir, `tsconfig.${i}.json`);
    writeFileSync(config, JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, skipLibCheck: false, ...options },
      files,
    }, null, 2));
    const r = await tsc(['-p', config]);
    assert.equal(r.code, 0, `tsc -p ${JSON.stringify(options)} on ${files.join(' ')}:\n${r.out}`);
  });
});
