// exec.mjs: run one benchmark program, bounded in time, and read its result.
import { spawnSync } from 'node:child_process';

/**
 * Run argv; return {ok, result, error, skip}. ok is true only if the program
 * exited 0 and its last JSON line parsed; a "FAIL: ..." from its own check, a
 * crash, or a timeout come back as error (with stderr's tail); exit status 77
 * with a "SKIP: why" line on stdout comes back as skip (why).
 */
export function runProgram(argv, { timeoutMs }) {
  const [cmd, ...args] = argv.map(String);
  const p = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
    env: { ...process.env, NODE_PATH: process.env.NODE_PATH ?? '/usr/share/nodejs' },
  });
  const tail = (s) => (s ?? '').trim().split('\n').slice(-3).join(' | ');
  if (p.error) return { ok: false, error: `${p.error.code ?? p.error.message} (${tail(p.stderr)})` };
  if (p.signal) return { ok: false, error: `killed by ${p.signal} (${tail(p.stderr)})` };
  /* 77: the program cannot run on this host (driver/echo-pair.mjs: a server
   * without sockets), which is a skip, not a failure. */
  if (p.status === 77) {
    const why = (p.stdout ?? '').split('\n').find((l) => l.startsWith('SKIP: '));
    if (why) return { ok: false, skip: why.slice(6), error: why };
  }
  if (p.status !== 0) return { ok: false, error: `exit ${p.status}: ${tail(p.stderr) || tail(p.stdout)}` };
  const lines = p.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  let result;
  let host;
  for (const line of lines) {
    try {
      const j = JSON.parse(line);
      if (j.host) host = j.host;
      else result = j;
    } catch {
      /* not a result line */
    }
  }
  if (!result || !Number.isFinite(result.ns) || !Number.isFinite(result.ops) || result.ops <= 0) {
    return { ok: false, error: `no result line in: ${tail(p.stdout)}` };
  }
  return { ok: true, result, host };
}
