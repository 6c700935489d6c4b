#!/usr/bin/env node
// tideloop-cc: build a C program written with tideloop into a wasm module, with
// the C SDK this package ships (sdk/: tide.h and the prebuilt wasm32 libraries),
// no checkout of the tideloop repository needed. Only your sources are compiled;
// the library is linked prebuilt, so a small module builds in about a second.
//
//   tideloop-cc [options] SOURCE.c... [compiler flags...]
//
// The usage text below (USAGE) is the reference; js/README.md, "Build your own
// C module", says the same with examples.
import { spawn } from 'node:child_process';
import {
  accessSync, constants, existsSync, mkdirSync, readFileSync, statSync, unlinkSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const PROG = 'tideloop-cc';
const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SDK = path.join(PKG, 'sdk');
const DEBIAN_CLANG = 'clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32';

const USAGE = `usage: ${PROG} [options] SOURCE.c... [compiler flags...]

Builds C written with tideloop (#include "tide.h") into a wasm module, linking
the prebuilt library this package ships (sdk/lib/<target>/libtideloop.a); only
your sources are compiled.

targets:
  (default)        a module for the JS host: a wasm32 reactor that exports
                   what the package's load() needs; TIDE_HOST_JS is defined, so
                   TIDE_MAIN(setup) runs from rt.main() (npx tideloop-run
                   app.wasm) and the setup may export coroutines for rt.call()
  --wasi           a WASI preview1 command (TIDE_MAIN defines main()), for
                   node:wasi, wasmtime, WAMR...; needs clang
  --small          a module for the JS host from the size build of the library
                   (sdk/lib/wasm32-js-small): -Oz -flto -mbulk-memory for your
                   code and the library together, the compact allocator, no
                   diagnostics (tide_loop_trace_start and the rest return
                   TIDE_ENOSYS), then wasm-opt -Oz if binaryen is installed.
                   Needs clang 14 or newer (the library is LLVM 14 bitcode)

options:
  -o FILE          the module to write (default: the first input's name, .wasm)
  -c               compile only: objects (.o) to link in a later ${PROG} run
                   with the same compiler and target
  -O0 -O1 -O2 -O3 -Os -Oz
                   optimisation level of your code (default -O2; -Oz with
                   --small)
  --debug          keep assert() and debug info in your code (default: -DNDEBUG
                   and a stripped module); the library is a release build
  --cc COMPILER    clang, emcc, a versioned name (clang-17) or a path. Default:
                   $CC if it names clang or emcc, else the first of clang,
                   clang-19 ... clang-14, emcc on PATH that can build for
                   wasm32 (clang needs wasi-libc and compiler-rt's wasm32
                   builtins: Debian ${DEBIAN_CLANG})
  --verbose        print the compiler command before running it
  --version        print the package's and the SDK's versions
  -h, --help       this text

Any other argument that starts with "-" (-I, -D, -W, -std=, -l, -L ...) goes to
the compiler; other arguments are sources (.c) or objects and archives (.o, .a)
to link. Exit status: the compiler's (its diagnostics go to stderr as they
are), 2 for a usage error, 1 if no usable compiler was found.`;

function fail(message, status = 1) {
  process.stderr.write(`${PROG}: error: ${message}\n`);
  process.exit(status);
}
const usageError = (message) => fail(`${message} (try --help)`, 2);

/* --- Arguments --------------------------------------------------------------- */

const opts = {
  wasi: false, small: false, cc: null, out: null, opt: null, debug: false, verbose: false, compileOnly: false,
};
const inputs = [];
const flags = [];
{
  const argv = process.argv.slice(2);
  const WITH_VALUE = new Set(['-I', '-D', '-U', '-L', '-l', '-include', '-isystem', '-idirafter',
    '-iquote', '-Xlinker', '-Xclang', '-MF', '-MT', '-MQ']);
  const value = (i, name) => {
    if (i + 1 >= argv.length) usageError(`${name} needs a value`);
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else if (a === '--version') {
      const pkg = JSON.parse(readFileSync(path.join(PKG, 'package.json'), 'utf8'));
      let sdk = 'no SDK in this package (sdk/sdk.json missing)';
      try {
        const s = JSON.parse(readFileSync(path.join(SDK, 'sdk.json'), 'utf8'));
        sdk = `SDK built with ${s.compiler}, ${s.cflags}`;
      } catch { /* reported as missing */ }
      process.stdout.write(`${PROG} (tideloop ${pkg.version}): ${sdk}\n`);
      process.exit(0);
    } else if (a === '--wasi') opts.wasi = true;
    else if (a === '--small') opts.small = true;
    else if (a === '--debug') opts.debug = true;
    else if (a === '--verbose') opts.verbose = true;
    else if (a === '--cc') opts.cc = value(i++, a);
    else if (a.startsWith('--cc=')) opts.cc = a.slice(5);
    else if (a === '-o') opts.out = value(i++, a);
    else if (/^-O[0-3sz]$/.test(a)) opts.opt = a;
    else if (WITH_VALUE.has(a)) flags.push(a, value(i++, a));
    else if (a === '-') usageError('reading a source from stdin is not supported');
    else if (a === '-c') opts.compileOnly = true;
    else if (a === '-S' || a === '-E') usageError(`${a} is not supported: ${PROG} builds modules (-c: objects)`);
    else if (/^-(-?target|-target=)/.test(a)) {
      usageError(`${a}: ${PROG} chooses the target itself (--wasi or not)`);
    } else if (a.startsWith('-')) flags.push(a);
    else inputs.push(a);
  }
}
if (inputs.length === 0) usageError('no input files');
if (opts.small && opts.wasi) usageError('--small is for the JS host: it cannot go with --wasi');
for (const f of inputs) {
  let ok = false;
  try { ok = statSync(f).isFile(); } catch { /* ok stays false */ }
  if (!ok) fail(`no such file: ${f}`, 2);
}
const sources = inputs.filter((f) => !/\.(o|a|obj)$/i.test(f));
if (sources.length === 0 && opts.compileOnly) usageError('-c: no C source among the inputs');
const firstName = path.basename(inputs[0]).replace(/\.[^.]*$/, '');
const out = opts.out ?? (opts.compileOnly ? null : `${firstName}.wasm`);

/* --- The SDK ----------------------------------------------------------------- */

const target = opts.wasi ? 'wasm32-wasi' : opts.small ? 'wasm32-js-small' : 'wasm32-js';
const libDir = path.join(SDK, 'lib', target);
const archive = path.join(libDir, 'libtideloop.a');
if (!existsSync(path.join(SDK, 'include', 'tide.h')) || !existsSync(archive)) {
  fail(`this tideloop package has no C SDK for ${target} (${archive} is missing). ` +
    'A published package ships it; a repository checkout makes it with ' +
    'scripts/build-npm-sdk.sh (npm pack runs it)');
}

/* --- The compiler ------------------------------------------------------------ */

/* The executable `name` resolves to: a path, or the first match on PATH. */
function which(name) {
  const ok = (p) => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/') || name.includes(path.sep)) return ok(name) ? path.resolve(name) : null;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && ok(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

const kindOf = (cc) => (/emcc/.test(path.basename(cc)) ? 'emcc' : /clang/.test(path.basename(cc))
  ? 'clang' : null);

/* Run a command, capturing its output (for the probe). */
function capture(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { output += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { output += d; });
    child.on('error', (e) => resolve({ code: -1, output: e.message }));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/* What clang lacks to link for wasm32-wasi: [] when it has it all. One quick
 * probe (about 40 ms): the driver's dry run (-###) of the link we will do
 * names the linker, wasi-libc's start file and compiler-rt's wasm32 builtins,
 * each with its full path when it found it (Debian's clang-14 runs wasm-ld-14,
 * from PATH: a clang without lld prints the bare name). */
async function clangMissing(cc) {
  const link = opts.wasi ? [] : ['-mexec-model=reactor'];
  /* With your flags that say where to look (--sysroot, -resource-dir ...); the
   * others wait for the real run, which reports what is wrong with them. */
  const where = flags.filter((f) => /^(--sysroot|-resource-dir|-B|--gcc-toolchain|-fuse-ld|--ld-path)/
    .test(f));
  const probe = await capture(cc, ['--target=wasm32-wasi', '-###', ...where, ...link, archive]);
  if (probe.code !== 0) {
    const said = probe.output.trim().split('\n').pop();
    return [`a driver that runs (${cc} --target=wasm32-wasi -###: ${said || `exit ${probe.code}`})`];
  }
  const line = probe.output.trim().split('\n').pop();
  const words = [...line.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
  const found = (p) => p !== undefined && path.isAbsolute(p) && existsSync(p);
  const missing = [];
  const ld = words[0];
  if (!found(ld) && !(ld && which(ld))) {
    missing.push(`the wasm linker ${ld || 'wasm-ld'} (Debian: lld-14, for clang 14)`);
  }
  if (!found(words.find((w) => /crt1[\w-]*\.o$/.test(w)))) missing.push('wasi-libc (Debian: wasi-libc)');
  const rt = words.find((w) => /libclang_rt\.builtins/.test(w));
  if (!found(rt)) {
    missing.push(`compiler-rt's wasm32 builtins, ${rt ?? 'libclang_rt.builtins-wasm32.a'} ` +
      '(Debian: libclang-rt-14-dev-wasm32, for clang 14)');
  }
  return missing;
}

async function chooseCompiler() {
  const explicit = opts.cc ?? null;
  if (explicit) {
    const kind = kindOf(explicit);
    if (!kind) usageError(`--cc ${explicit}: expected clang or emcc (a name or path containing one)`);
    const cc = which(explicit);
    if (!cc) {
      fail(`${explicit} not found (Debian: apt-get install ${kind === 'emcc' ? 'emscripten' : DEBIAN_CLANG})`);
    }
    return { cc, kind, name: explicit };
  }
  const candidates = [];
  const envCC = process.env.CC?.trim();
  /* $CC is often a native compiler (gcc) or a wrapper command: only a plain
   * clang or emcc is taken, and emcc never for --wasi. */
  if (envCC && !/\s/.test(envCC) && kindOf(envCC) && !(opts.wasi && kindOf(envCC) === 'emcc')) {
    candidates.push(envCC);
  }
  candidates.push('clang', ...[19, 18, 17, 16, 15, 14].map((v) => `clang-${v}`));
  if (!opts.wasi) candidates.push('emcc');
  const rejected = [];
  for (const name of candidates) {
    const cc = which(name);
    if (!cc) continue;
    const kind = kindOf(name);
    if (kind === 'clang') {
      const missing = await clangMissing(cc);
      if (missing.length) {
        rejected.push(`${name}: missing ${missing.join('; ')}`);
        continue;
      }
    }
    if (rejected.length) {
      process.stderr.write(`${PROG}: note: using ${name}: ${rejected.join('. ')}\n`);
    }
    return { cc, kind, name };
  }
  const why = rejected.length ? `; ${rejected.join('. ')}` : '';
  fail(`no compiler for wasm32 found: ${PROG} needs clang with wasi-libc (Debian: ` +
    `apt-get install ${DEBIAN_CLANG})${opts.wasi ? '' : ' or emcc (Debian: emscripten)'}${why}`);
}

const compiler = await chooseCompiler();
if (opts.cc && compiler.kind === 'clang') {
  const missing = await clangMissing(compiler.cc);
  if (missing.length) {
    fail(`${opts.cc} cannot build for wasm32-wasi: missing ${missing.join('; ')}` +
      `${opts.wasi ? '' : ' (or use --cc emcc)'}`);
  }
}
if (opts.small && compiler.kind === 'emcc') {
  fail('--small needs clang 14 or newer: the size build\'s library is LLVM bitcode for clang\'s ' +
    `link-time optimisation, which this tool does not hand to emcc (Debian: apt-get install ${DEBIAN_CLANG})`);
}
if (opts.wasi && compiler.kind === 'emcc') {
  fail('--wasi needs clang with wasi-libc: the WASI library is built against wasi-libc, ' +
    `which emcc does not link (Debian: apt-get install ${DEBIAN_CLANG})`);
}

/* --- The command ------------------------------------------------------------- */

/* --small: your code is compiled as the library was (bitcode, so that the link
 * optimises both together and drops what the program never reaches), at -Oz
 * unless you chose a level. */
const level = opts.opt ?? (opts.small ? '-Oz' : '-O2');
const common = ['-std=c11', level, ...(opts.debug ? ['-g'] : ['-DNDEBUG']),
  ...(opts.wasi ? [] : ['-DTIDE_HOST_JS']), ...(opts.small ? ['-flto', '-mbulk-memory'] : []),
  `-I${path.join(SDK, 'include')}`];
const exportsList = opts.wasi ? [] : readFileSync(path.join(libDir, 'exports.txt'), 'utf8')
  .split('\n').map((l) => l.trim()).filter((l) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(l));
if (!opts.wasi && exportsList.length === 0) fail(`${path.join(libDir, 'exports.txt')} lists no exports`);

let args;
const env = { ...process.env };
if (compiler.kind === 'emcc' && !env.NODE_PATH && existsSync('/usr/share/nodejs')) {
  /* Debian's emcc 3.1.6 finds acorn and friends there (docs/TOOLCHAIN.md). */
  env.NODE_PATH = '/usr/share/nodejs';
}
const outArgs = out === null ? [] : ['-o', out];
if (opts.compileOnly) {
  /* Objects for a later tideloop-cc link (with the same compiler). */
  args = [...(compiler.kind === 'clang' ? ['--target=wasm32-wasi'] : []), ...common, ...flags, '-c',
    ...inputs, ...outArgs];
} else if (compiler.kind === 'clang') {
  /* One driver run: your sources compiled, then linked with the library (after
   * them, so that it supplies what they use). As scripts/build-js-module.sh
   * and src/backend/js/js-module.cmake link: a reactor exporting exports.txt. */
  const link = opts.wasi ? [] : ['-mexec-model=reactor', ...exportsList.map((n) => `-Wl,--export=${n}`)];
  /* Debian's wasi-libc brings its debug info and names along: stripped, a
   * small module is a third of the size. --small strips only the debug info
   * here (the rest after wasm-opt, below): clang runs wasm-opt on the link's
   * output, which needs the target_features section --strip-all drops to
   * accept bulk memory, and optimises less with DWARF present. */
  if (!opts.debug) link.push(opts.small ? '-Wl,--strip-debug' : '-Wl,--strip-all');
  args = ['--target=wasm32-wasi', ...common, ...flags, ...inputs, archive, ...link, ...outArgs];
} else {
  /* emcc: a standalone module, no Emscripten JS glue (the package's loader is
   * the glue). Its own libc stands in for wasi-libc under the library, which
   * calls only functions whose ABI is the same in both (build-npm-sdk.sh). */
  args = [...common, ...flags, ...inputs, archive, '-sSTANDALONE_WASM', '--no-entry',
    '-sERROR_ON_UNDEFINED_SYMBOLS=0', '-sWARN_ON_UNDEFINED_SYMBOLS=0', '-sALLOW_MEMORY_GROWTH=1',
    `-sEXPORTED_FUNCTIONS=${exportsList.map((n) => `_${n}`).join(',')}`, ...outArgs];
}
if (out !== null) mkdirSync(path.dirname(path.resolve(out)), { recursive: true });

if (opts.verbose) {
  const q = (s) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`);
  process.stderr.write(`${[compiler.cc, ...args].map(q).join(' ')}\n`);
}

const status = await new Promise((resolve) => {
  const child = spawn(compiler.cc, args, { stdio: 'inherit', env });
  child.on('error', (e) => {
    process.stderr.write(`${PROG}: error: cannot run ${compiler.cc}: ${e.message}\n`);
    resolve(1);
  });
  child.on('close', (code, signal) => resolve(code ?? 128 + (os.constants.signals[signal] ?? 0)));
});
if (status !== 0) process.exit(status);

/* --small: wasm-opt once more, with what only the module's maker can promise
 * (its own memory starts zero-filled; wasm-ld leaves the first KiB unused), as
 * src/backend/js/js-module.cmake does for the size build. */
if (opts.small && !opts.compileOnly) {
  const wasmOpt = which('wasm-opt');
  if (!wasmOpt) {
    process.stderr.write(`${PROG}: note: wasm-opt not found (Debian: binaryen): ${out} is ` +
      'built without its last size pass\n');
  } else {
    const keep = opts.debug ? ['-g'] : ['--strip-producers', '--strip-target-features'];
    const pass = await capture(wasmOpt, [...keep, '-Oz', '--enable-bulk-memory',
      '--zero-filled-memory', '--low-memory-unused', out, '-o', out]);
    if (pass.code !== 0) fail(`wasm-opt failed on ${out}: ${pass.output.trim()}`);
  }
}

/* emcc turns every undefined symbol into an import (it has to let the
 * "tideloop" imports through), so a function you forgot to define would fail
 * only at load. Fail the build instead, naming it. */
if (compiler.kind === 'emcc' && !opts.compileOnly) {
  let bad;
  try {
    const mod = new WebAssembly.Module(readFileSync(out));
    bad = WebAssembly.Module.imports(mod).filter((i) => !(i.module === 'tideloop' ||
      i.module === 'wasi_snapshot_preview1' ||
      (i.module === 'env' && i.name === 'emscripten_notify_memory_growth')));
  } catch (e) {
    fail(`cannot read ${out} back: ${e.message}`);
  }
  if (bad.length) {
    try { unlinkSync(out); } catch { /* already gone */ }
    fail(`undefined symbols (not a tideloop or WASI import): ${bad.map((i) => i.name).join(', ')}`);
  }
}
