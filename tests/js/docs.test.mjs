// docs.test.mjs: the READMEs' examples run (issue 17, item 1). Every code block
// of README.md and js/README.md marked runnable is run, as a user would run it,
// against the packed package installed offline into an empty project; a block
// that fails fails the suite, naming its README and line.
//
// The convention (README.md, "Build and test"; js/README.md, "Development"):
//
//   - A fenced block whose info string is `js runnable` is a whole ES module:
//     it is written to <n>.mjs in the project and run with `node <n>.mjs`
//     (top-level await allowed; `tideloop` resolves to the installed package,
//     so `import.meta.resolve('tideloop/wasm/quickstart.wasm')` names a
//     shipped module). It passes if it exits 0 within TIMEOUT_MS (a runtime
//     left open that keeps Node alive fails it) with nothing on stderr (an
//     unobserved C error report or a warning in an example is a defect too);
//     stdin is empty (/dev/null), and PATH holds node alone.
//   - `// prints: TEXT` in a runnable block (at the end of a line, or a line
//     of its own) is the next line the block must print: when a block has
//     any, its stdout must be exactly those lines, in order. A block without
//     them may print anything.
//   - Every other js block says why it is not run, in its info string:
//     `js fragment` (a piece of a program: a catch clause, a snippet that
//     needs the reader's own module) or `js browser` (it needs a page or a
//     bundler: tests/bundlers/ builds and runs those recipes in Chromium).
//     A js block with neither label fails the suite, so a new example must
//     decide. Other languages (sh, c, cmake, html) are not run here.
//
// The package is packed once per run (pack-lock.mjs, shared with pack.test.mjs
// and sdk.test.mjs); its prepack builds wasm/quickstart.wasm, the quick-start
// module (examples/quickstart.c).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ROOT, run, childEnv } from './examples.mjs';
import { packedTarball } from './pack-lock.mjs';

const READMES = ['README.md', 'js/README.md'];
const TIMEOUT_MS = 30_000;
/* What a js block's info string may say after `js`. */
const LABELS = new Set(['runnable', 'fragment', 'browser']);
const JS_LANGS = new Set(['js', 'javascript', 'mjs']);

const QUIET_NPM = { npm_config_update_notifier: 'false', npm_config_fund: 'false',
  npm_config_audit: 'false', npm_config_loglevel: 'error' };

/**
 * The fenced code blocks of a Markdown text: {lang, labels, line, code}, line
 * being the 1-based line of the opening fence. Fences of ``` or ~~~ (three or
 * more), indented as list items indent them (the indent is taken off the
 * block's lines); a block closes at a fence of the same character at least as
 * long, as CommonMark says. An unclosed block is an error rather than a
 * block silently lost.
 */
function codeBlocks(text, file) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([^`]*)$/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    const [lang = '', ...labels] = info.trim().split(/\s+/).filter(Boolean);
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    if (j === lines.length) throw new Error(`${file}:${i + 1}: a code block that never closes`);
    blocks.push({ file, line: i + 1, lang: lang.toLowerCase(), labels, code: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** The lines a block says it prints (`// prints: TEXT`), in order. */
function expectedOutput(code) {
  return code.split('\n').map((l) => /\/\/ prints: (.*)$/.exec(l)).filter(Boolean)
    .map((m) => m[1].trimEnd());
}

const blocks = READMES.flatMap((f) => codeBlocks(readFileSync(path.join(ROOT, f), 'utf8'), f));
const runnable = blocks.filter((b) => b.labels.includes('runnable'));

const tmp = mkdtempSync(path.join(tmpdir(), 'tideloop-docs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let project; /* the empty project with the package installed */
let env; /* what the blocks run with: node alone on PATH */

/* npm's own script, run with this node: the blocks' PATH has no npm. */
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

before(async () => {
  const npm = npmCli();
  const { tgz, info } = await packedTarball({ npm, env: childEnv(QUIET_NPM),
    dest: path.join(tmp, 'pack') });
  assert.ok(info.files.some((f) => f.path === 'wasm/quickstart.wasm'),
    'the package ships wasm/quickstart.wasm, which the examples load');

  const bin = path.join(tmp, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, path.join(bin, 'node'));
  env = { HOME: tmp, PATH: bin, npm_config_cache: path.join(tmp, 'npm-cache'), ...QUIET_NPM };
  project = path.join(tmp, 'app');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', private: true, type: 'module' }));
  const installed = await run(process.execPath,
    [npm, 'install', '--offline', '--no-audit', '--no-fund', tgz], { cwd: project, env });
  assert.equal(installed.code, 0, `npm install failed:\n${installed.stdout}${installed.stderr}`);
  assert.deepEqual(readdirSync(path.join(project, 'node_modules')).filter((f) => !f.startsWith('.')),
    ['tideloop'], 'nothing but the package is installed');
});

/**
 * Run a block as <n>.mjs in the project: {ok, why} where why says what went
 * wrong, with the output, and where in the README (an error's line in
 * <n>.mjs is that many lines below the block's fence).
 */
let nth = 0;
async function runBlock(block, timeoutMs = TIMEOUT_MS) {
  const name = `${++nth}.mjs`;
  writeFileSync(path.join(project, name), block.code);
  const r = await new Promise((resolve) => {
    const child = spawn(process.execPath, [name],
      { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  const where = `${block.file}:${block.line} (run as ${name}; its line k is ` +
    `${block.file}:${block.line}+k)`;
  const output = `\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}---`;
  if (r.signal) return { ok: false, why: `${where}: killed (${r.signal}), not done within ${timeoutMs} ms${output}` };
  if (r.code !== 0) return { ok: false, why: `${where}: exit status ${r.code}${output}` };
  if (r.stderr !== '') return { ok: false, why: `${where}: wrote to stderr${output}` };
  const expected = expectedOutput(block.code);
  if (expected.length > 0) {
    const got = r.stdout.replace(/\n$/, '').split('\n');
    try {
      assert.deepEqual(got, expected);
    } catch (e) {
      return { ok: false, why: `${where}: stdout is not what its "// prints:" comments say\n${e.message}` };
    }
  }
  return { ok: true };
}

test('every js block is runnable, a fragment or for a browser', () => {
  const unlabelled = blocks.filter((b) => JS_LANGS.has(b.lang) &&
    !b.labels.some((l) => LABELS.has(l)));
  assert.deepEqual(unlabelled.map((b) => `${b.file}:${b.line}`), [],
    'label each js block `js runnable`, `js fragment` or `js browser` (tests/js/docs.test.mjs)');
  const misplaced = runnable.filter((b) => !JS_LANGS.has(b.lang));
  assert.deepEqual(misplaced.map((b) => `${b.file}:${b.line} (${b.lang})`), [],
    'only js blocks are run: a block in another language cannot be runnable');
  /* The parser must find what the READMEs hold: a quick start that is not
   * found would otherwise pass by not running. */
  for (const f of READMES) {
    assert.ok(runnable.some((b) => b.file === f), `${f} has a runnable block`);
  }
  const quick = readFileSync(path.join(ROOT, 'js/README.md'), 'utf8').split('\n')
    .indexOf('## Quick start') + 1;
  const first = blocks.find((b) => b.file === 'js/README.md' && b.line > quick);
  assert.ok(first?.labels.includes('runnable'), 'the quick start is runnable');
});

test('the harness fails a block that fails', async () => {
  /* Each of these must be refused, or the suite could pass by running nothing
   * that can fail. */
  const bad = [
    ['throws', "await Promise.resolve();\nthrow new Error('broken example');\n", /exit status 1[^]*broken example/],
    ['prints otherwise', "console.log(4); // prints: 5\n", /"\/\/ prints:" comments/],
    ['prints less', "console.log(5); // prints: 5\n// prints: 6\n", /"\/\/ prints:" comments/],
    ['writes stderr', "console.error('oops');\n", /wrote to stderr/],
    ['never ends', "setInterval(() => {}, 1000);\n", /killed \(SIGKILL\), not done within 2000 ms/],
  ];
  for (const [what, code, why] of bad) {
    const r = await runBlock({ file: 'synthetic.md', line: 7, code }, 2000);
    assert.equal(r.ok, false, what);
    assert.match(r.why, why, what);
    assert.match(r.why, /^synthetic\.md:7 /, what);
  }
  const good = await runBlock({ file: 'synthetic.md', line: 1,
    code: "import { load } from 'tideloop';\nconsole.log(typeof load); // prints: function\n" });
  assert.deepEqual(good, { ok: true });
});

for (const block of runnable) {
  test(`${block.file}:${block.line} runs`, async () => {
    const r = await runBlock(block);
    assert.ok(r.ok, r.why);
  });
}
