// machine.mjs: a description of the machine and tools, for RESULTS.md.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { PYTHON } from './paths.mjs';

function first(cmd, args) {
  const p = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, NODE_PATH: '/usr/share/nodejs' } });
  if (p.status !== 0 && !p.stdout) return 'not found';
  return (p.stdout || p.stderr).trim().split('\n')[0];
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    return m ? m[1] : os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

const debVersion = (pkg) => first('dpkg-query', ['-W', '-f=${Version}', pkg]);

export function describeMachine() {
  return [
    ['CPU', `${cpuModel()} (${os.cpus().length} cores online), ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM`],
    ['kernel', `${os.type()} ${os.release()} ${os.arch()}`],
    ['gcc', first('gcc', ['--version'])],
    ['clang (wasm32)', first('clang-14', ['--version'])],
    ['emcc', first('emcc', ['--version'])],
    ['node', process.version],
    ['python', `${first(PYTHON, ['--version'])} (${PYTHON})`],
    ['libuv / libev / uvloop', `${debVersion('libuv1-dev')} / ${debVersion('libev-dev')} / ${debVersion('python3-uvloop')}`],
    ['valgrind', first('valgrind', ['--version'])],
  ];
}

export const loadAverage = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
