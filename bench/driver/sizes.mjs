// sizes.mjs: W7, the size of a minimal async program on the JS host
// (bench/c/w7_minimal.c) against the same logic with ASYNCIFY
// (bench/emcc/w7_asyncify.c), and which part of the tideloop module is what.
//
// Sizes are of the wasm after wasm-strip (custom sections such as wasi-libc's
// DWARF are not code a page downloads), raw and gzip -9. Both builds are -O2
// and both ran wasm-opt -O2 (emcc always does; clang does when binaryen is
// installed). The split by function name comes from w7_minimal_named.wasm, the
// same link with names kept, attributed through llvm-nm's symbol tables.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { BUILD, ROOT, jsHost } from './paths.mjs';

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
    ['src/main', 'portable main (src/main)'], ['src/common', 'errno table (src/common)'],
    ['src/backend', 'default allocator (src/backend)'],
    ['src/backend/js', 'JS bridge (src/backend/js)'], ['src/io', 'streams (src/io)'],
    ['src/io/hostcall', 'streams (src/io)']]) {
    if (existsSync(path.join(ROOT, dir, base))) return group;
  }
  return 'tideloop (other)';
}

/* function name -> group, from the symbol tables of the library and the program. */
function symbolGroups() {
  const map = new Map();
  const nm = (file) => spawnSync('llvm-nm-14', ['-A', '--defined-only', file], { encoding: 'utf8' }).stdout ?? '';
  const lib = path.join(BUILD, 'js/tideloop/libtideloop.a');
  for (const line of nm(lib).split('\n')) {
    const m = /^[^:]+:([^:]+): [0-9a-f]+ [tTdD] (\S+)$/.exec(line);
    if (m && !map.has(m[2])) map.set(m[2], sourceGroup(m[1]));
  }
  const objDir = path.join(BUILD, 'js/CMakeFiles/w7_minimal_named.dir/c');
  for (const f of existsSync(objDir) ? readdirSync(objDir).filter((x) => x.endsWith('.obj')) : []) {
    for (const line of nm(path.join(objDir, f)).split('\n')) {
      const m = / [tT] (\S+)$/.exec(line);
      if (m) map.set(m[1], 'the program (w7_minimal.c)');
    }
  }
  return map;
}

/* [{group, bytes}] of the code section of the named module, by function body. */
function codeSplit() {
  const file = path.join(BUILD, 'js/w7_minimal_named.wasm');
  const dump = spawnSync('wasm-objdump', ['-x', '-j', 'Code', file], { encoding: 'utf8' }).stdout ?? '';
  const groups = symbolGroups();
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
    largest: fns.sort((a, b) => b.bytes - a.bytes).slice(0, 12),
  };
}

/** Everything W7 reports, or {error}. */
export function measureW7({ smoke }) {
  const tide = path.join(BUILD, 'js/w7_minimal.wasm');
  const asy = path.join(BUILD, 'emcc/w7_asyncify.wasm');
  if (!existsSync(tide)) return { error: 'build/bench/js/w7_minimal.wasm not built' };
  for (const tool of ['wasm-strip', 'wasm-objdump']) {
    if (spawnSync(tool, ['--version']).status !== 0) return { skip: `${tool} not found (apt-get install wabt)` };
  }
  /* Both programs must also work (each exits 0 only if its three sleeps
   * succeeded): sizes of a broken build mean nothing. */
  const [node, ...args] = jsHost('w7_minimal');
  const ranTide = spawnSync(node, args, { timeout: 30000 });
  if (ranTide.status !== 0) return { error: `w7_minimal exited ${ranTide.status ?? ranTide.signal}` };
  const out = { tide: strippedSize(tide), split: codeSplit() };
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
  out.realCode = Number(/Code start=\S+ end=\S+ \(size=(0x[0-9a-f]+)\)/.exec(
    spawnSync('wasm-objdump', ['-h', tide], { encoding: 'utf8' }).stdout ?? '')?.[1] ?? NaN);
  out.mtime = statSync(tide).mtime.toISOString();
  return out;
}
