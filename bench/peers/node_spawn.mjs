// node_spawn.mjs: W8 on Node: spawn-and-wait of /bin/true N times, K at a time,
// with child_process.spawn (stdio 'ignore', i.e. /dev/null, as tideloop's
// TIDE_STDIO_NULL and libuv's UV_IGNORE). K async slots, each spawning its next
// child as soon as the last one's 'exit' came (code 0 checked), so K run at
// once. The clock runs from the first spawn to the last exit.
//
//   node node_spawn.mjs N [K [PROGRAM]]
import { spawn } from 'node:child_process';
import { arg, check, nowNs, report } from './node_common.mjs';

const n = Number(arg(0, 1000));
const k = Math.min(Number(arg(1, 8)), n);
const program = arg(2, '/bin/true');
check(n > 0 && k > 0, 'usage: node_spawn.mjs N [K [PROGRAM]]');

let started = 0;
let ok = 0;

const runOne = (i) => new Promise((resolve, reject) => {
  const child = spawn(program, [], { stdio: 'ignore' });
  child.on('error', (err) => reject(new Error(`spawn ${i} of ${program}: ${err.message}`)));
  child.on('exit', (code, signal) => {
    check(code === 0 && signal === null, `child ${i} of ${program}: code ${code}, signal ${signal}, expected 0`);
    ok++;
    resolve();
  });
});

async function slot() {
  while (started < n) await runOne(started++);
}

const start = nowNs();
await Promise.all(Array.from({ length: k }, slot));
const ns = nowNs() - start;
check(ok === n, `${ok} children exited 0, expected ${n}`);
report({ ops: n, ns, check: ok });
