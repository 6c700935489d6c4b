// package.test.mjs: the npm package's shape: index.d.ts declares exactly what
// both entries export (and the Runtime members that exist), package.json's
// exports map and files list point at real files, and only the Node adapter
// touches node: APIs (the host must run in any standards-compliant engine).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_DIR, loadTest } from './helpers.mjs';
import * as nodeEntry from '../../js/src/node.mjs';
import * as webEntry from '../../js/src/index.mjs';

const dts = readFileSync(join(PACKAGE_DIR, 'index.d.ts'), 'utf8');
const pkg = JSON.parse(readFileSync(join(PACKAGE_DIR, 'package.json'), 'utf8'));

/* Strip comments so names in prose do not count. */
const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');

/* Runtime values the .d.ts declares at top level. */
function declaredValues() {
  const names = new Set();
  for (const m of code.matchAll(/^export\s+declare\s+(?:function|class|const|let|var)\s+([A-Za-z_$][\w$]*)/gm)) {
    names.add(m[1]);
  }
  return names;
}

/* Members of a declared class: methods (name followed by "(") and properties. */
function declaredMembers(cls) {
  const start = code.search(new RegExp(`export\\s+declare\\s+class\\s+${cls}\\b`));
  assert.notEqual(start, -1, `class ${cls} not declared`);
  const open = code.indexOf('{', start);
  let depth = 0;
  let end = open;
  for (; end < code.length; end++) {
    if (code[end] === '{') depth++;
    else if (code[end] === '}' && --depth === 0) break;
  }
  const body = code.slice(open + 1, end);
  const members = { methods: new Set(), props: new Set() };
  /* Only top-level lines of the body (nested types are indented further). */
  for (const line of body.split('\n')) {
    const m = /^ {2}(?:readonly\s+|private\s+|static\s+)*([A-Za-z_$][\w$]*|\[Symbol\.\w+\])\s*(\(|\??:)/.exec(line);
    if (!m) continue;
    (m[2] === '(' ? members.methods : members.props).add(m[1]);
  }
  return members;
}

test('index.d.ts declares exactly the values both entries export', () => {
  const declared = [...declaredValues()].sort();
  assert.deepEqual(Object.keys(nodeEntry).sort(), declared, 'node entry');
  assert.deepEqual(Object.keys(webEntry).sort(), declared, 'default entry');
  for (const name of declared) {
    if (name !== 'load') assert.equal(nodeEntry[name], webEntry[name], `${name} is shared`);
  }
});

test('the declared kinds match: functions, classes, constants', () => {
  for (const m of code.matchAll(/^export\s+declare\s+(function|class|const)\s+(\w+)/gm)) {
    const v = nodeEntry[m[2]];
    if (m[1] === 'function') assert.equal(typeof v, 'function', m[2]);
    if (m[1] === 'class') assert.match(Function.prototype.toString.call(v), /^class\b/, m[2]);
    if (m[1] === 'const') assert.notEqual(typeof v, 'function', m[2]);
  }
});

test('Runtime\'s declared members exist on a real runtime, and its public ones are declared', async () => {
  const { rt } = await loadTest();
  try {
    const { methods, props } = declaredMembers('Runtime');
    methods.delete('constructor');
    assert.ok(methods.size >= 5 && props.size >= 5, 'the parser found the class body');
    for (const m of methods) {
      const key = m === '[Symbol.dispose]' ? Symbol.dispose : m;
      assert.equal(typeof rt[key], 'function', `method ${m}`);
    }
    for (const p of props) assert.ok(p in rt, `property ${p}`);
    /* [Symbol.dispose] is typed outside the class (RuntimeDisposer, only where
     * the lib has Symbol.dispose); the method is there in every engine. */
    assert.match(code, /^export interface Runtime extends RuntimeDisposer \{\}/m);
    assert.match(code, /^export type RuntimeDisposer = \{ \[K in DisposeSymbol\]: \(\) => void \};/m);
    assert.equal(typeof rt[Symbol.dispose], 'function', 'rt[Symbol.dispose]');
    /* Everything public on the object is declared (private fields are invisible). */
    const proto = Object.getOwnPropertyNames(nodeEntry.Runtime.prototype).filter((n) => n !== 'constructor');
    const own = Object.keys(rt);
    for (const n of [...proto, ...own]) {
      assert.ok(methods.has(n) || props.has(n), `${n} is not in index.d.ts`);
    }
    const stats = /interface RuntimeStats\s*{([^}]*)}/.exec(code)[1];
    const statNames = [...stats.matchAll(/^\s*(\w+)\s*:/gm)].map((m) => m[1]).sort();
    assert.deepEqual(Object.keys(rt.stats).sort(), statNames, 'RuntimeStats');
  } finally {
    rt.close();
  }
});

test('TideError and TideExit members are declared', () => {
  const e = declaredMembers('TideError');
  assert.deepEqual([...e.props].sort(), ['code', 'errno', 'name']);
  const x = declaredMembers('TideExit');
  assert.ok(x.props.has('code'));
  const err = new nodeEntry.TideError(-4);
  assert.equal(typeof err.code, 'string');
  assert.equal(typeof err.errno, 'number');
  assert.equal(err.name, 'TideError');
  /* The declared literal types are the values. */
  assert.match(code, /class TideError[^}]*\bname: 'TideError';/);
  assert.match(code, /class TideError[^}]*\bcode: TideErrorName;/);
});

test('the error names in index.d.ts are the table', () => {
  const m = /export type TideErrorName\s*=([^;]*);/.exec(code);
  const names = [...m[1].matchAll(/'(\w+)'/g)].map((x) => x[1]);
  assert.deepEqual(names, nodeEntry.errorTable.map((r) => r[0]));
});

test('package.json: name, version, module type, no runtime dependencies', () => {
  assert.equal(pkg.name, 'tideloop');
  assert.equal(pkg.version, '0.1.0');
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.dependencies, undefined);
  assert.equal(pkg.types, './index.d.ts');
  /* What ships: the runtime, the runner and tideloop-cc, types, prebuilt
   * modules, the C SDK (sdk/: tide.h and the prebuilt libraries), the README,
   * the changelog and the licence (tests/js/pack.test.mjs packs it and checks
   * the tarball's contents). */
  assert.deepEqual(pkg.files,
    ['src', 'bin', 'index.d.ts', 'wasm/*.wasm', 'sdk', 'README.md', 'CHANGELOG.md', 'LICENSE']);
  for (const f of ['README.md', 'CHANGELOG.md', 'LICENSE']) {
    assert.ok(existsSync(join(PACKAGE_DIR, f)), `js/${f} exists`);
  }
  /* npm pack builds the prebuilt modules first, and fails without them. */
  assert.match(pkg.scripts.prepack, /build-npm-wasm\.sh/);
});

test('package.json: licence, where the project lives, and the Node it needs', () => {
  assert.equal(pkg.license, 'MIT');
  const home = 'https://github.com/tideloop/tideloop';
  assert.equal(pkg.repository.url, `git+${home}.git`);
  assert.equal(pkg.repository.directory, 'js');
  assert.ok(pkg.homepage.startsWith(home), pkg.homepage);
  assert.equal(pkg.bugs.url, `${home}/issues`);
  /* require() of this ESM package works from Node 20.19 on (unflagged
   * require(esm)); the repository's dev scripts say the same. */
  assert.equal(pkg.engines.node, '>=20.19');
  const rootPkg = JSON.parse(readFileSync(join(PACKAGE_DIR, '..', 'package.json'), 'utf8'));
  assert.equal(rootPkg.engines.node, pkg.engines.node);
  /* npm 11 drops a bin path that starts with "./" when it publishes. */
  for (const [name, target] of Object.entries(pkg.bin)) {
    assert.doesNotMatch(target, /^\.\//, `bin ${name}`);
    assert.ok(existsSync(join(PACKAGE_DIR, target)), `bin ${name}: ${target}`);
  }
});

test('require() of the package works on this Node (what engines promises)', async () => {
  const { createRequire } = await import('node:module');
  const required = createRequire(import.meta.url)(PACKAGE_DIR);
  assert.equal(required.TideError, nodeEntry.TideError, 'the same module as import gives');
  assert.equal(typeof required.load, 'function');
});

test('the package\'s LICENSE is the repository\'s (npm ships only the one in js/)', () => {
  const root = readFileSync(join(PACKAGE_DIR, '..', 'LICENSE'), 'utf8');
  assert.equal(readFileSync(join(PACKAGE_DIR, 'LICENSE'), 'utf8'), root);
  assert.match(root, /^MIT License\n\nCopyright \(c\) 2026 the tideloop authors\n/);
});

test('js/README.md links work on the npm page: nothing relative outside the package', () => {
  /* npm renders the README without the repository around it, so a link to
   * "../README.md" or "../src/..." is dead there. Links inside the package
   * (its own files) and anchors are fine; everything else is absolute. */
  const readme = readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
  const targets = [
    ...[...readme.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]),
    ...[...readme.matchAll(/^\[[^\]]+\]:\s*(\S+)/gm)].map((m) => m[1]),
  ];
  assert.ok(targets.length >= 3, `found only ${targets.length} links`);
  for (const t of targets) {
    if (/^(https?:|mailto:|#)/.test(t)) continue;
    const file = t.split('#')[0];
    assert.ok(!file.startsWith('..') && !file.startsWith('/'), `relative link out of the package: ${t}`);
    assert.ok(pkg.files.some((f) => file === f || file.startsWith(`${f}/`)),
      `${t} is not a file the package ships`);
  }
  for (const t of targets.filter((x) => x.startsWith('https://github.com/tideloop/tideloop/blob/'))) {
    /* A link into the repository names a file that exists in it. */
    const rel = t.replace(/^https:\/\/github\.com\/tideloop\/tideloop\/blob\/main\//, '').split('#')[0];
    assert.ok(existsSync(join(PACKAGE_DIR, '..', rel)), `${t}: no ${rel} in the repository`);
  }
});

test('package.json exports map: each target exists, node and default entries differ', () => {
  const dot = pkg.exports['.'];
  assert.equal(dot.types, './index.d.ts');
  assert.equal(dot.node, './src/node.mjs');
  assert.equal(dot.default, './src/index.mjs');
  assert.equal(dot.browser, './src/index.mjs');
  for (const target of [dot.types, dot.node, dot.default, dot.browser]) {
    assert.ok(existsSync(join(PACKAGE_DIR, target)), target);
  }
  assert.equal(pkg.exports['./wasm/*'], './wasm/*');
  /* Condition order matters: "types" first, "default" last. */
  const keys = Object.keys(dot);
  assert.equal(keys[0], 'types');
  assert.equal(keys.at(-1), 'default');
});

test('only the Node adapter imports node: modules or uses Node globals', () => {
  const dir = join(PACKAGE_DIR, 'src');
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.mjs') || f === 'node.mjs') continue;
    const text = readFileSync(join(dir, f), 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(text, /from\s+['"]node:/, `${f} imports a node: module`);
    /* Words inside string literals ('no such process') are not globals. */
    const code = text.replace(/'(?:[^'\\\n]|\\.)*'/g, "''");
    assert.doesNotMatch(code, /\b(process|Buffer|setImmediate|require|__dirname)\b/, `${f} uses a Node global`);
  }
});

/* The real compiler, when it is installed (js/package.json has typescript as a
 * devDependency: `npm ci` in js/), or TIDE_TSC names one. */
function findTsc() {
  if (process.env.TIDE_TSC) return process.env.TIDE_TSC;
  const local = join(PACKAGE_DIR, 'node_modules', '.bin', 'tsc');
  return existsSync(local) ? local : null;
}

test('tsc type-checks a typical consumer against index.d.ts (strict)', async (t) => {
  const tsc = findTsc();
  if (!tsc) {
    t.skip('typescript is not installed (npm ci in js/, or set TIDE_TSC)');
    return;
  }
  const { mkdtempSync, mkdirSync, symlinkSync, writeFileSync, copyFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { execFileSync } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'tideloop-dts-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(PACKAGE_DIR, join(dir, 'node_modules', 'tideloop'), 'dir');
    /* The other lib settings (no esnext.disposable, no DOM, @types/node):
     * tests/bundlers/types.test.mjs. */
    const files = ['dts-consumer.ts', 'dts-dispose.ts', 'dts-wasm.ts'];
    for (const f of files) copyFileSync(new URL(`./fixtures/${f}`, import.meta.url), join(dir, f));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['es2022', 'esnext.disposable', 'dom'],
        types: [],
        skipLibCheck: false,
      },
      files,
    }));
    try {
      execFileSync(tsc, ['-p', dir], { encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      assert.fail(`tsc found errors:\n${e.stdout}${e.stderr}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
