#!/usr/bin/env node
// tideloop-run: run a C program written with TIDE_MAIN, built as a module for
// the JS host, under Node, as if it were a native command:
//
//   tideloop-run prog.wasm [args...]
//
// argv is [basename of prog.wasm without .wasm, ...args] (as the WASI runner
// names it); stdin, stdout and stderr are the process's (C streams on fds 0-2
// read and write them byte for byte; printf goes out line by line); the
// environment is the process's. The exit status is the program's:
// tide_main_exit(), exit()'s status, 1 if its setup failed; 70 (EX_SOFTWARE) if
// the module could not be loaded or trapped.
import process from 'node:process';
import path from 'node:path';
import { load } from '../src/node.mjs';

const USAGE = 'usage: tideloop-run PROGRAM.wasm [ARGS...]';

const [file, ...args] = process.argv.slice(2);
if (file === undefined || file === '-h' || file === '--help') {
  (file === undefined ? console.error : console.log)(`${USAGE}\n` +
    'Runs a tideloop TIDE_MAIN program built for the JS host, with the ' +
    'process\'s stdin, stdout, stderr and environment; exits with its status.');
  process.exit(file === undefined ? 2 : 0);
}

const name = path.basename(file).replace(/\.wasm$/, '');
let rt;
try {
  rt = await load(file, { args: [name, ...args], env: { ...process.env } });
} catch (e) {
  console.error(`tideloop-run: cannot load ${file}: ${e?.message ?? e}`);
  process.exit(70);
}

let code;
try {
  code = await rt.main();
} catch (e) {
  console.error(`tideloop-run: ${name} failed: ${e?.message ?? e}`);
  code = 70;
}
rt.close();
/* Not process.exit(): output still queued for a pipe is written first, and the
 * process ends once nothing else is pending, as a native program's would. */
process.exitCode = code;
