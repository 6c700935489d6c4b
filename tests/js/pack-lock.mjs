// pack-lock.mjs: one `npm pack` of js/ at a time across the suites that pack
// (pack.test.mjs, sdk.test.mjs); not a test itself. node --test runs test
// files in parallel processes, and every pack's prepack rewrites js/wasm/ and
// js/sdk/ in place and builds in build/js-pack and build/sdk: two at once
// would pack each other's half-written files.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './examples.mjs';

const LOCK = path.join(ROOT, 'build', '.js-pack.lock');

function holderGone() {
  let pid;
  try {
    pid = Number(readFileSync(path.join(LOCK, 'pid'), 'utf8'));
  } catch {
    /* Taken but no pid yet: gone only if it has stayed so for a while. */
    try {
      return Date.now() - statSync(LOCK).mtimeMs > 30_000;
    } catch {
      return true;
    }
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return e.code === 'ESRCH';
  }
}

/** Run fn holding the pack lock (a directory: mkdir is atomic); a lock left by
 * a process that died is taken over. */
export async function withPackLock(fn, { timeoutMs = 600_000 } = {}) {
  mkdirSync(path.dirname(LOCK), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(path.join(LOCK, 'pid'), String(process.pid));
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (holderGone()) {
        rmSync(LOCK, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${LOCK} still held after ${timeoutMs} ms`);
      await sleep(250);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}
