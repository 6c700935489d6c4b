// echo-pair.mjs: one W6 run as one program, so the driver runs it like any
// other benchmark (driver/exec.mjs): start an echo server, read the port it
// listens on, run the client against it, stop the server, pass the client's
// result line through.
//
//   node bench/driver/echo-pair.mjs SERVER_ARGV... -- CLIENT_ARGV...
//
// The server protocol (tideloop's examples/echo.c, bench/peers/libuv_echo.c,
// bench/peers/node_echo.mjs): started as `... server 127.0.0.1 0`, it prints
// exactly one line "listening on 127.0.0.1:PORT" on stdout (flushed) and
// serves until SIGTERM or SIGINT. "{port}" in CLIENT_ARGV becomes PORT.
//
// Every step is bounded: the port line must come within START_MS, the client
// within its own timeout (plus a margin, then SIGKILL), the server must exit
// within STOP_MS of SIGTERM (else SIGKILL, and the run fails). The exit status
// is 0 only if the client passed and the server stopped cleanly (status 0, or
// death by the SIGTERM it was sent). A server that cannot listen because the
// host has no sockets (tideloop's TIDE_ENOSYS, "not supported on this host")
// is not a failure: "SKIP: why" on stdout and exit status 77, which the driver
// reports as a skipped run.
import { spawn } from 'node:child_process';
import process from 'node:process';

/* Within the driver's own limit per run (driver/exec.mjs: 30 s in smoke mode,
 * 120 s in rounds) together with the client's deadline (workloads.mjs). */
const START_MS = 10000;
const CLIENT_MS = 100000;
const STOP_MS = 5000;
const SKIP_STATUS = 77;

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep <= 0 || sep === argv.length - 1) {
  console.error('usage: node echo-pair.mjs SERVER_ARGV... -- CLIENT_ARGV...');
  process.exit(2);
}
const serverArgv = argv.slice(0, sep);
const clientArgv = argv.slice(sep + 1);
const tail = (s) => s.trim().split('\n').slice(-3).join(' | ');

function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}

/* --- Start the server and read its one line ------------------------------ */
const server = spawn(serverArgv[0], serverArgv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
let client;
/* Stopped from outside (the driver's timeout, ^C): take both children along. */
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(sig, () => {
    client?.kill('SIGKILL');
    server.kill('SIGKILL');
    console.error(`FAIL: echo-pair stopped by ${sig}`);
    process.exit(1);
  });
}
let serverOut = '';
let serverErr = '';
let serverExit = null; /* {code, signal} once it exited */
const exited = new Promise((resolve) => {
  server.on('exit', (code, signal) => {
    serverExit = { code, signal };
    resolve(serverExit);
  });
});
server.on('error', (e) => fail(`cannot start ${serverArgv[0]}: ${e.message}`));
server.stdout.setEncoding('utf8');
server.stderr.setEncoding('utf8');
server.stderr.on('data', (s) => {
  serverErr = (serverErr + s).slice(-4096);
});
const described = (x) => (x.signal ? `killed by ${x.signal}` : `exit ${x.code}`);

const port = await new Promise((resolve) => {
  const timer = setTimeout(() => {
    server.kill('SIGKILL');
    fail(`the server printed no "listening on" line within ${START_MS / 1000} s: ${tail(serverOut + serverErr)}`);
  }, START_MS);
  const onData = (s) => {
    serverOut += s;
    const nl = serverOut.indexOf('\n');
    if (nl < 0) return;
    const line = serverOut.slice(0, nl);
    const m = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line);
    clearTimeout(timer);
    server.stdout.off('data', onData);
    /* Anything else it prints later on stdout is drained and kept. */
    server.stdout.on('data', (more) => {
      serverOut = (serverOut + more).slice(-4096);
    });
    if (!m) {
      server.kill('SIGKILL');
      fail(`the server's first line is not "listening on 127.0.0.1:PORT": ${JSON.stringify(line)}`);
    }
    resolve(Number(m[1]));
  };
  server.stdout.on('data', onData);
  exited.then((x) => {
    if (serverOut.includes('\n')) return;
    clearTimeout(timer);
    const why = tail(serverErr || serverOut);
    if (/not supported on this host/.test(serverErr)) {
      console.log(`SKIP: the server has no sockets on this host (${why})`);
      process.exit(SKIP_STATUS);
    }
    fail(`the server ended (${described(x)}) before listening: ${why}`);
  });
});

/* --- Run the client against it ------------------------------------------- */
client = spawn(clientArgv[0], clientArgv.slice(1).map((a) => a.replace('{port}', String(port))),
  { stdio: ['ignore', 'pipe', 'pipe'] });
let clientOut = '';
let clientErr = '';
client.stdout.setEncoding('utf8');
client.stderr.setEncoding('utf8');
client.stdout.on('data', (s) => {
  clientOut += s;
});
client.stderr.on('data', (s) => {
  clientErr = (clientErr + s).slice(-4096);
});
const clientExit = await new Promise((resolve) => {
  const timer = setTimeout(() => client.kill('SIGKILL'), CLIENT_MS);
  client.on('error', (e) => {
    clearTimeout(timer);
    resolve({ code: null, signal: null, error: e.message });
  });
  client.on('exit', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal });
  });
});
/* The pipes may still hold the last bytes after 'exit'. */
await Promise.all([client.stdout, client.stderr].map((s) => (s.readableEnded ? null
  : new Promise((resolve) => s.on('close', resolve)))));

/* --- Stop the server: SIGTERM, bounded wait ------------------------------- */
const serverDiedEarly = serverExit;
if (!serverExit) server.kill('SIGTERM');
let stopTimer;
const stopped = await Promise.race([exited, new Promise((resolve) => {
  stopTimer = setTimeout(resolve, STOP_MS, null);
})]);
clearTimeout(stopTimer);
if (!stopped) {
  server.kill('SIGKILL');
  await exited;
}

const problems = [];
if (clientExit.error) problems.push(`cannot start the client: ${clientExit.error}`);
else if (clientExit.code !== 0) problems.push(`client ${described(clientExit)}: ${tail(clientErr || clientOut)}`);
if (serverDiedEarly) problems.push(`the server ended while serving (${described(serverDiedEarly)}): ${tail(serverErr)}`);
else if (!stopped) problems.push(`the server did not stop within ${STOP_MS / 1000} s of SIGTERM: ${tail(serverErr)}`);
else if (!(stopped.code === 0 || stopped.signal === 'SIGTERM')) {
  problems.push(`the server ${described(stopped)} on SIGTERM: ${tail(serverErr)}`);
}
if (problems.length) fail(problems.join('; '));
process.stdout.write(clientOut);
