// check-echo-threads.mjs: ctest's check of `echo server --threads N`
// (example-echo-threads). Natively: a 2-thread server (two loops, two listeners
// on one port) serves 200 clients at once, each sending its own random bytes in
// several writes and getting exactly them back; then, with a few connections
// still open and idle, SIGTERM must end the server with status 0, and those
// connections must see the server end them. On the JS host, which has no
// threads, `--threads 2` must fail at once with status 2 and a line saying so.
//
//   node check-echo-threads.mjs [EMULATOR...] PROGRAM
//
// EMULATOR as in check-echo.mjs: given, the program is a JS-host module.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';

const cmd = process.argv.slice(2);
if (cmd.length === 0) {
  console.error('usage: node check-echo-threads.mjs [EMULATOR...] PROGRAM');
  process.exit(2);
}
const CLIENTS = 200;
const IDLE = 5;
const TIMEOUT_MS = 25000;
const STOP_MS = 5000;
const timer = setTimeout(() => {
  console.error('check-echo-threads: timed out');
  process.exit(1);
}, TIMEOUT_MS);

function done(failures, what) {
  clearTimeout(timer);
  console.log(failures.length === 0 ? `check-echo-threads: ${what}`
    : `check-echo-threads: ${failures.length} failures:\n  ${failures.slice(0, 10).join('\n  ')}`);
  process.exit(failures.length === 0 ? 0 : 1);
}

const server = spawn(cmd[0], [...cmd.slice(1), 'server', '127.0.0.1', '0', '--threads', '2'],
  { stdio: ['ignore', 'pipe', 'pipe'] });
let stderr = '';
server.stderr.setEncoding('utf8');
server.stderr.on('data', (s) => { stderr += s; });
const exited = new Promise((resolve) => server.on('exit', (code, signal) => resolve({ code, signal })));

if (cmd.length > 1) {
  /* The JS host: refused, with a reason, before anything listens. */
  const x = await exited;
  const failures = [];
  if (x.code !== 2) failures.push(`--threads on the JS host: exit ${x.code} ${x.signal ?? ''}, expected 2`);
  if (!/--threads: this host has no threads/.test(stderr)) failures.push(`no reason on stderr: ${JSON.stringify(stderr)}`);
  done(failures, '--threads refused on the JS host');
}

const port = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (b) => {
    text += b;
    const m = /^listening on 127\.0\.0\.1:(\d+)\n/.exec(text);
    if (m) resolve(Number(m[1]));
  });
  exited.then((x) => reject(new Error(`server exited (${x.code} ${x.signal}) before listening: ${stderr}`)));
});

/* One client: connect, send `input` in a few writes, end, collect the echo. */
function echo(input) {
  return new Promise((resolve) => {
    const got = [];
    const s = net.connect(port, '127.0.0.1', () => {
      const third = Math.ceil(input.length / 3);
      for (let i = 0; i < input.length; i += third) s.write(input.subarray(i, i + third));
      s.end();
    });
    s.on('data', (b) => got.push(b));
    s.on('error', (e) => resolve({ error: e.message }));
    s.on('close', () => resolve({ data: Buffer.concat(got) }));
  });
}

const failures = [];
const inputs = Array.from({ length: CLIENTS }, (_, i) => randomBytes(1000 + (i * 37) % 9000));
const results = await Promise.all(inputs.map(echo));
results.forEach((r, i) => {
  if (r.error) failures.push(`client ${i}: ${r.error}`);
  else if (!r.data.equals(inputs[i])) failures.push(`client ${i}: sent ${inputs[i].length} bytes, got ${r.data.length} back (different)`);
});

/* Idle connections, open when SIGTERM comes: the server must end them. */
const idle = await Promise.all(Array.from({ length: IDLE }, () => new Promise((resolve) => {
  const s = net.connect(port, '127.0.0.1', () => resolve(s));
  s.on('error', () => {});
})));
const idleClosed = idle.map((s) => new Promise((resolve) => s.on('close', resolve)));
/* Each must be in the server's hands (echoing) before the signal. */
await Promise.all(idle.map((s) => new Promise((resolve) => {
  s.once('data', resolve);
  s.write('x');
})));
server.kill('SIGTERM');
let stopTimer;
const stopped = await Promise.race([exited, new Promise((resolve) => {
  stopTimer = setTimeout(resolve, STOP_MS, null);
})]);
clearTimeout(stopTimer);
if (!stopped) {
  server.kill('SIGKILL');
  failures.push(`the server did not exit within ${STOP_MS / 1000} s of SIGTERM`);
} else if (stopped.code !== 0) {
  failures.push(`the server ended with ${stopped.code ?? stopped.signal} on SIGTERM, expected status 0: ${stderr}`);
} else {
  await Promise.all(idleClosed);
}
if (stderr !== '') failures.push(`the server wrote to stderr: ${stderr}`);
done(failures, `2 threads served ${CLIENTS} clients byte for byte; SIGTERM ended it with ${IDLE} connections open`);
