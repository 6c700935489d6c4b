// sizes.mjs: W7, the size of a minimal async program on the JS host
// (bench/c/w7_minimal.c) against the same logic with ASYNCIFY
// (bench/emcc/w7_asyncify.c), and which part of the tideloop module is what.
//
// The tideloop program is measured twice: in the size build (-DTIDE_SIZE=ON,
// build/bench/js-small: -Oz, LTO, the compact allocator, no diagnostics), the
// one W7's target is about, and in the default build (build/bench/js, -O2),
// beside it. Sizes are of the wasm after wasm-strip (custom sections such as
// wasi-libc's DWARF are not code a page downloads), raw and gzip -9. The
// default build and ASYNCIFY ran wasm-opt -O2 (emcc always does; clang does
// when binaryen is installed), the size build wasm-opt -Oz. The split by
// function name comes from w7_minimal_named.wasm of each tree, the same link
// with names kept, attributed through llvm-nm's symbol tables.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUILD, ROOT, jsHostModule } from './paths.mjs';

/* The two builds of the program: [key, tree under build/bench]. */
const TREES = [['size', 'js-small'], ['default', 'js']];

const gz = (buf) => gzipSync(buf, { level: 9 }).length;

function strippedSize(file) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tide-w7-'));
  try {
    const copy = path.join(dir, 'm.wasm');
    copyFileSync(file, copy);
    const s = spawnSync('wasm-strip', [copy]);
    if (s.status !== 0) throw new Error(`wasm-strip ${file} failed`);
    const buf = readFileSync(copy);
    return { bytes: buf.length, gzip: gz(buf) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function textSize(files) {
  const buf = Buffer.concat(files.map((f) => readFileSync(f)));
  return { bytes: buf.length, gzip: gz(buf) };
}

/* Which source directory an object of libtideloop.a came from. */
function sourceGroup(obj) {
  const base = obj.replace(/\.obj$|\.o$/, '');
  for (const [dir, group] of [['src/core', 'core'], ['src/hostops', 'host operations (src/hostops)'],
    ['src/core/nodiag', 'core'],
    ['src/main', 'portable main (src/main)'], ['src/common', 'errno table (src/common)'],
    ['src/backend', 'allocator (src/backend)'],
    ['src/backend/js', 'JS bridge (src/backend/js)'], ['src/io', 'streams (src/io)'],
    ['src/io/hostcall', 'streams (src/io)']]) {
    if (existsSync(path.join(ROOT, dir, base))) return group;
  }
  return 'tideloop (other)';
}

/* function name -> group, from the symbol tables of the library and the program
 * of one tree (the size build's are LLVM bitcode, whose symbols have no address:
 * "--------"). */
function symbolGroups(tree) {
  const map = new Map();
  const nm = (file) => spawnSync('llvm-nm-14', ['-A', '--defined-only', file], { encoding: 'utf8' }).stdout ?? '';
  const lib = path.join(BUILD, tree, 'tideloop/libtideloop.a');
  for (const line of nm(lib).split('\n')) {
    const m = /^[^:]+:([^:]+): [0-9a-f-]+ [tTdD] (\S+)$/.exec(line);
    if (m && !map.has(m[2])) map.set(m[2], sourceGroup(m[1]));
  }
  const objDir = path.join(BUILD, tree, 'CMakeFiles/w7_minimal_named.dir/c');
  for (const f of existsSync(objDir) ? readdirSync(objDir).filter((x) => x.endsWith('.obj')) : []) {
    for (const line of nm(path.join(objDir, f)).split('\n')) {
      const m = / [tT] (\S+)$/.exec(line);
      if (m) map.set(m[1], 'the program (w7_minimal.c)');
    }
  }
  return map;
}

/* [{group, bytes}] of the code section of one tree's named module, by function body. */
function codeSplit(tree) {
  const file = path.join(BUILD, tree, 'w7_minimal_named.wasm');
  const dump = spawnSync('wasm-objdump', ['-x', '-j', 'Code', file], { encoding: 'utf8' }).stdout ?? '';
  const groups = symbolGroups(tree);
  const sums = new Map();
  const fns = [];
  let total = 0;
  for (const m of dump.matchAll(/- func\[\d+\] size=(\d+)(?: <([^>]+)>)?/g)) {
    const size = Number(m[1]);
    const group = groups.get(m[2]) ?? 'wasi-libc and compiler runtime';
    sums.set(group, (sums.get(group) ?? 0) + size);
    fns.push({ name: m[2] ?? '?', group, bytes: size });
    total += size;
  }
  return {
    total,
    rows: [...sums.entries()].sort((a, b) => b[1] - a[1]).map(([group, bytes]) => ({ group, bytes })),
    largest: fns.sort((a, b) => b.bytes - a.bytes).slice(0, 16),
  };
}

/* The size of a module's section (Code, Data), from its section headers. */
function sectionSize(file, section) {
  return Number(new RegExp(` ${section} start=\\S+ end=\\S+ \\(size=(0x[0-9a-f]+)\\)`).exec(
    spawnSync('wasm-objdump', ['-h', file], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? NaN);
}

/** Everything W7 reports, or {error}. */
export function measureW7({ smoke }) {
  const asy = path.join(BUILD, 'emcc/w7_asyncify.wasm');
  for (const tool of ['wasm-strip', 'wasm-objdump']) {
    if (spawnSync(tool, ['--version']).status !== 0) return { skip: `${tool} not found (apt-get install wabt)` };
  }
  /* out.size and out.default: {bytes, gzip, split, realCode, data} of each build.
   * Every program must also work (each exits 0 only if its three sleeps
   * succeeded): sizes of a broken build mean nothing. */
  const out = {};
  for (const [key, tree] of TREES) {
    const file = path.join(BUILD, tree, 'w7_minimal.wasm');
    if (!existsSync(file)) return { error: `build/bench/${tree}/w7_minimal.wasm not built` };
    const [node, ...args] = jsHostModule(file);
    const ran = spawnSync(node, args, { timeout: 30000 });
    if (ran.status !== 0) return { error: `${tree}/w7_minimal exited ${ran.status ?? ran.signal}` };
    out[key] = { ...strippedSize(file), split: codeSplit(tree), realCode: sectionSize(file, 'Code'),
      data: sectionSize(file, 'Data') };
  }
  out.tideJs = textSize(['load.mjs', 'runtime.mjs', 'state.mjs', 'scheduler.mjs', 'host-ops.mjs', 'calls.mjs',
    'imports.mjs', 'wire.mjs', 'node.mjs', 'errors.mjs', 'values.mjs', 'wasi.mjs', 'stdio.mjs']
    .map((f) => path.join(ROOT, 'js/src', f)).filter(existsSync));
  if (existsSync(asy)) {
    const ranAsy = spawnSync('node', [path.join(BUILD, 'emcc/w7_asyncify.js')], { timeout: 30000 });
    if (ranAsy.status !== 0) return { error: `w7_asyncify exited ${ranAsy.status}` };
    out.asyncify = strippedSize(asy);
    out.asyncifyJs = textSize([path.join(BUILD, 'emcc/w7_asyncify.js')]);
  }
  out.smoke = smoke;
  return out;
}
