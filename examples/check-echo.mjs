// check-echo.mjs: ctest's check of examples/echo.c (example-echo-roundtrip):
// start `echo server 127.0.0.1 0 --count 3`, read its port from the first line,
// then run three clients one after the other - 1 MiB of random bytes, a few
// lines with a name ("localhost") for the host, and empty input - each of which
// must print exactly what it sent. The server must then exit 0 by itself.
//
//   node check-echo.mjs [EMULATOR...] PROGRAM
//
// EMULATOR: how to run PROGRAM (node and js/bin/tideloop-run.mjs for a JS-host
// module); nothing for a native binary. Everything is bounded by a timeout.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const cmd = process.argv.slice(2);
if (cmd.length === 0) {
  console.error('usage: node check-echo.mjs [EMULATOR...] PROGRAM');
  process.exit(2);
}
const TIMEOUT_MS = 20000;
const timer = setTimeout(() => {
  console.error('check-echo: timed out');
  process.exit(1);
}, TIMEOUT_MS);

function run(args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0], [...cmd.slice(1), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out = [];
    p.stdout.on('data', (b) => out.push(b));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out) }));
    p.stdin.on('error', () => {}); // a client that failed early stops reading
    p.stdin.end(input);
  });
}

const server = spawn(cmd[0], [...cmd.slice(1), 'server', '127.0.0.1', '0', '--count', '3'],
  { stdio: ['ignore', 'pipe', 'inherit'] });
const serverExit = new Promise((resolve) => server.on('close', (code) => resolve(code)));
const port = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (b) => {
    text += b;
    const m = /^listening on 127\.0\.0\.1:(\d+)\n/.exec(text);
    if (m) resolve(Number(m[1]));
  });
  server.on('close', (code) => reject(new Error(`server exited (${code}) before listening`)));
});

const cases = [
  ['127.0.0.1', randomBytes(1 << 20)],
  ['localhost', Buffer.from('one\ntwo\r\nthree without newline')],
  ['127.0.0.1', Buffer.alloc(0)],
];
let failed = 0;
for (const [host, input] of cases) {
  const r = await run(['client', host, String(port)], input);
  if (r.code !== 0 || !r.stdout.equals(input)) {
    console.error(`check-echo: client ${host} with ${input.length} bytes: exit ${r.code}` +
      ` ${r.signal ?? ''}, got ${r.stdout.length} bytes back` +
      (r.stdout.equals(input) ? '' : ' (different)'));
    failed++;
  }
}
const code = await serverExit;
if (code !== 0) {
  console.error(`check-echo: server exited with ${code}`);
  failed++;
}
clearTimeout(timer);
console.log(failed === 0 ? 'check-echo: 3 clients echoed byte for byte' : `check-echo: ${failed} failures`);
process.exit(failed === 0 ? 0 : 1);
