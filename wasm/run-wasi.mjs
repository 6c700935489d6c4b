// run-wasi.mjs: run a wasm32-wasi command under Node's WASI, as a ctest emulator
// or by hand:  node --no-warnings wasm/run-wasi.mjs prog.wasm [args...]
// stdin/stdout/stderr are the process's; the exit code is the program's.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';
import path from 'node:path';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node --no-warnings run-wasi.mjs PROGRAM.wasm [ARGS...]');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [path.basename(file), ...args],
  env: {},
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
