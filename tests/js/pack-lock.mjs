// pack-lock.mjs: `npm pack` of js/ for the suites that install the package
// (pack.test.mjs, sdk.test.mjs, docs.test.mjs); not a test itself.
//
// One pack at a time: node --test runs test files in parallel processes, and
// every pack's prepack rewrites js/wasm/ and js/sdk/ in place and builds in
// build/js-pack and build/sdk: two at once would pack each other's
// half-written files.
//
// One pack per run: packedTarball() keeps the first tarball of a `node --test`
// run in build/.js-pack-cache/<run>/ and hands the same one to the other
// suites of that run, so a run pays for one prepack (a release build of the
// modules and the SDK), not one per suite. <run> names the `node --test`
// process (its pid and start time, so a reused pid is a new run); a suite run
// alone (not under node --test) packs afresh.
import {
  existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, run } from './examples.mjs';

const LOCK = path.join(ROOT, 'build', '.js-pack.lock');
const CACHE = path.join(ROOT, 'build', '.js-pack-cache');
const PACKAGE_DIR = path.join(ROOT, 'js');

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

/* A process's start time (clock ticks since boot, /proc/<pid>/stat field 22),
 * or null where there is no /proc. */
function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    /* After the command name, which may hold spaces, in parentheses: field 3 on. */
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[22 - 3] ?? null;
  } catch {
    return null;
  }
}

/* This run's name: the `node --test` process that started this file (it sets
 * NODE_TEST_CONTEXT for its children); null when there is none, or no way to
 * tell one run from the next. */
function runKey() {
  if (!process.env.NODE_TEST_CONTEXT) return null;
  const start = startTime(process.ppid);
  return start === null ? null : `${process.ppid}-${start}`;
}

/* Drop the tarballs of runs that are over. */
function pruneCache(keep) {
  let names = [];
  try {
    names = readdirSync(CACHE);
  } catch {
    return;
  }
  for (const name of names) {
    const [pid, start] = name.split('-');
    if (name !== keep && startTime(Number(pid)) !== start) {
      rmSync(path.join(CACHE, name), { recursive: true, force: true });
    }
  }
}

/**
 * The packed package: {tgz, info, reused}, info being `npm pack --json`'s
 * entry (filename, files with sizes, ...). npm: npm's CLI script, run with
 * this node; env: the environment npm runs in; dest: where a suite run alone
 * packs. Throws, with npm's stderr, if the pack fails (the next suite then
 * tries again, and fails the same way rather than install a stale tarball).
 */
export async function packedTarball({ npm, env, dest }) {
  return withPackLock(async () => {
    const key = runKey();
    const dir = key ? path.join(CACHE, key) : dest;
    /* info.json is written last: there, the tarball next to it is whole. */
    const infoFile = path.join(dir, 'info.json');
    if (key && existsSync(infoFile)) {
      const info = JSON.parse(readFileSync(infoFile, 'utf8'));
      return { tgz: path.join(dir, info.filename), info, reused: true };
    }
    if (key) pruneCache(key);
    mkdirSync(dir, { recursive: true });
    const packed = await run(process.execPath, [npm, 'pack', '--json', '--pack-destination', dir],
      { cwd: PACKAGE_DIR, env, timeout: 300_000 });
    if (packed.code !== 0) throw new Error(`npm pack failed (${packed.code}):\n${packed.stderr}`);
    const [info] = JSON.parse(packed.stdout);
    writeFileSync(infoFile, JSON.stringify(info));
    return { tgz: path.join(dir, info.filename), info, reused: false };
  });
}
