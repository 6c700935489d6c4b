// check-pmap.mjs: ctest's check of examples/pmap.c (example-pmap-output): run
// pmap on inputs whose every outcome is known - output on both streams, exit
// statuses, signals, timeouts with a child that ignores SIGTERM, a program that
// does not exist, 1 MiB of output, more lines than slots - and compare its
// stdout, stderr and exit status with the expected ones, byte for byte. The
// same expectations hold natively and on the JS host (Node, through
// node:child_process), so the two are compared with each other through them.
//
//   node check-pmap.mjs [EMULATOR...] PROGRAM
//
// EMULATOR: how to run PROGRAM (node and js/bin/tideloop-run.mjs for a JS-host
// module); nothing for a native binary.
import { spawn } from 'node:child_process';

const cmd = process.argv.slice(2);
if (cmd.length === 0) {
  console.error('usage: node check-pmap.mjs [EMULATOR...] PROGRAM');
  process.exit(2);
}
const timer = setTimeout(() => {
  console.error('check-pmap: timed out');
  process.exit(1);
}, 60000);

function run(args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd[0], [...cmd.slice(1), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    p.stdout.on('data', (b) => out.push(b));
    p.stderr.on('data', (b) => err.push(b));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({
      code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(),
    }));
    p.stdin.on('error', () => {}); /* a usage error exits before reading its input */
    p.stdin.end(input);
  });
}

const SH = ['/bin/sh', '-c', 'eval "$1"', 'pmap-sh'];
const MIB = 'x'.repeat(1 << 20);

/* [name, args, input lines, expected stdout, expected stderr, expected status] */
const cases = [
  ['outcomes in input order', ['-j', '3', '-t', '3000', '-k', '300', '--', ...SH], [
    'sleep 0.3; echo first',
    'echo second; echo second-err >&2',
    'printf "no newline"',
    'exit 3',
    'kill -9 $$',
    'echo start; exec sleep 30',
    'trap "" TERM; echo stubborn; exec sleep 30',
    `head -c ${1 << 20} /dev/zero | tr "\\0" x`,
    'echo last',
  ], [
    'first\n', 'second\n', 'no newline', 'start\n', 'stubborn\n', MIB, 'last\n',
  ].join(''), [
    'second-err\n',
    'pmap: line 4 (exit 3): exit 3\n',
    'pmap: line 5 (kill -9 $$): killed by signal 9\n',
    'pmap: line 6 (echo start; exec sleep 30): timed out after 3000 ms (killed by signal 15)\n',
    'pmap: line 7 (trap "" TERM; echo stubborn; exec sleep 30): timed out after 3000 ms ' +
      '(killed by signal 9)\n',
    'pmap: 9 commands: 5 ok, 4 failed\n',
  ].join(''), 1],
  ['a program that does not exist', ['--', '/nonexistent/program'], ['a', '', 'b'], '', [
    'pmap: line 1 (a): cannot run: spawn /nonexistent/program: no such program\n',
    'pmap: line 3 (b): cannot run: spawn /nonexistent/program: no such program\n',
    'pmap: 2 commands: 0 ok, 2 failed\n',
  ].join(''), 1],
  ['many lines, one slot', ['-j', '1', 'echo'], Array.from({ length: 50 }, (_, i) => `n${i}`),
    Array.from({ length: 50 }, (_, i) => `n${i}\n`).join(''),
    'pmap: 50 commands: 50 ok, 0 failed\n', 0],
  ['usage error', ['-j', 'x', 'echo'], [], '', null, 2],
];

let failed = 0;
for (const [name, args, lines, stdout, stderr, status] of cases) {
  const input = lines.length ? `${lines.join('\n')}\n` : '';
  const r = await run(args, input);
  const problems = [];
  if (r.code !== status) problems.push(`exit status ${r.code} (signal ${r.signal}), want ${status}`);
  if (r.stdout !== stdout) {
    problems.push(`stdout differs: got ${JSON.stringify(r.stdout.slice(0, 300))} ` +
      `(${r.stdout.length} bytes), want ${JSON.stringify(stdout.slice(0, 300))} ` +
      `(${stdout.length} bytes)`);
  }
  if (stderr !== null && r.stderr !== stderr) {
    problems.push(`stderr differs:\n--- got\n${r.stderr}--- want\n${stderr}---`);
  }
  if (stderr === null && !r.stderr.startsWith('pmap: bad --jobs\nusage: pmap')) {
    problems.push(`stderr: ${JSON.stringify(r.stderr)}`);
  }
  console.log(`${problems.length ? 'FAIL' : 'ok'} - ${name}`);
  for (const p of problems) console.log(`  ${p}`);
  if (problems.length) failed++;
}
clearTimeout(timer);
process.exit(failed ? 1 : 0);
