// process.mjs: subprocesses for C programs on the JS host under Node, through
// node:child_process: the host functions behind src/io/hostcall/host_process.c
// (src/backend/js/ABI.md, "Subprocesses"):
//
//   "tideloop:process_spawn"(argv, env, envMode, cwd, stdio0, stdio1, stdio2)
//       -> 5 little-endian int32: id, pid, and the fds of the stdin, stdout
//          and stderr pipes (-1 where there is none)
//   "tideloop:process_wait"(id)         -> the returncode, once it has exited
//   "tideloop:process_kill"(id, signum)
//
// createProcesses() makes one table per runtime; its close() (rt.close) kills
// every child still running. The Node adapter passes node:child_process in
// (this file imports no node: module: the package keeps those to node.mjs).
//
// How a child behaves, and why:
// - "This process" is the Node process: TIDE_ENV_INHERIT starts from its
//   process.env, TIDE_STDIO_INHERIT is its stdin/stdout/stderr, and
//   TIDE_STDIO_FD takes only 0, 1 or 2 (Node's own), since the C program's
//   other fds are Node sockets, not file descriptors of this process.
// - Pipes are Node's (Unix socket pairs, as natively), handed to C as socket
//   fds of the net table (net.mjs): reads, writes, half-close and close are
//   the ones TCP connections have.
// - The returncode is asyncio's: the exit status, or minus the signal number.
// - Spawn failures carry the messages of the native host ("spawn prog: no
//   such program", "cwd dir: no such directory"), so a program prints the
//   same on both.
// - A value C drops is undone: a spawn whose answer C cancelled kills the
//   child it started (host-ops.mjs aborts the signal even after the answer).

import { TideError, errors, errorCodeOf } from './errors.mjs';

export const PROCESS_SPAWN = 'tideloop:process_spawn';
export const PROCESS_WAIT = 'tideloop:process_wait';
export const PROCESS_KILL = 'tideloop:process_kill';

const MODES = ['inherit', 'pipe', 'ignore', 'fd'];
/* execvp's PATH when the environment has none (as natively). */
const DEFAULT_PATH = '/bin:/usr/bin';
const MAX_ID = 0x7fffffff;
/* An unknown status (the child was lost): asyncio's, as natively. */
const LOST_STATUS = 255;

const WHY = {
  ENOENT: 'no such program',
  EACCES: 'not executable (permission denied)',
  ENOEXEC: 'not an executable format',
};

function invalid(message) {
  return new TideError(errors.EINVAL, message);
}

/* NUL-terminated strings one after the other, as C packs them. */
function strings(bytes, what) {
  if (!(bytes instanceof Uint8Array)) throw invalid(`process_spawn: ${what} must be bytes`);
  const text = new TextDecoder().decode(bytes);
  if (text.length === 0) return [];
  if (!text.endsWith('\0')) throw invalid(`process_spawn: ${what} is not NUL-terminated`);
  return text.slice(0, -1).split('\0');
}

/* One child, from spawn to the wait that reported its exit. */
class Child {
  id = 0;
  returncode = null;
  waiters = [];

  constructor(proc) {
    this.proc = proc;
  }

  exited(code, signal, signals) {
    if (this.returncode !== null) return;
    const signum = signal === null ? undefined : signals[signal];
    this.returncode = code !== null ? code : signum !== undefined ? -signum : LOST_STATUS;
    for (const w of this.waiters.splice(0)) w(this.returncode);
  }
}

class ProcessTable {
  #cp;
  #adopt;
  #env;
  #isDir;
  #signals;
  children = new Map(); /* id -> Child */
  #nextId = 1;
  #closed = false;

  #probe;
  #cwd;
  #closeFd;

  constructor({ childProcess, adopt, closeFd, env, isDir, signals, probe, cwd }) {
    this.#closeFd = closeFd;
    this.#cp = childProcess;
    this.#adopt = adopt;
    this.#env = env;
    this.#isDir = isDir;
    this.#signals = signals;
    this.#probe = probe;
    this.#cwd = cwd;
  }

  /* The program to run, found as natively (process_spawn.c): a name with a '/'
   * is a path from the child's cwd; a bare name is searched in the child's
   * PATH, and EACCES wins over ENOENT. Node would start a child that fails
   * its exec and exits 127 instead of telling, so this looks first. Returns
   * the path, or throws the native host's error. */
  #find(file, env, cwd) {
    const fail = (why) => {
      const err = new Error(why);
      err.code = why;
      throw this.#explain(err, file, cwd);
    };
    if (file.includes('/')) {
      const where = file.startsWith('/') ? file : `${cwd ?? this.#cwd()}/${file}`;
      if (cwd !== undefined && !this.#isDir(cwd)) fail('ENOENT');
      const why = this.#probe(where);
      if (why !== 'ok') fail(why);
      return file;
    }
    let why = 'ENOENT';
    for (const dir of (env.PATH ?? DEFAULT_PATH).split(':')) {
      const found = this.#probe(`${dir === '' ? '.' : dir}/${file}`);
      if (found === 'ok') return `${dir === '' ? '.' : dir}/${file}`;
      if (found === 'EACCES' || found === 'ENOEXEC') why = found;
    }
    return fail(why);
  }

  #explain(err, file, cwd) {
    const name = typeof err?.code === 'string' ? err.code : '';
    /* By name (and the host aliases: EPERM is EACCES), never by err.errno:
     * Node's is libuv's number (E2BIG is -7, which is our EPENDING). */
    const code = errorCodeOf(err, errors.EUNKNOWN);
    if (cwd !== undefined && (name === 'ENOENT' || name === 'ENOTDIR') && !this.#isDir(cwd)) {
      return new TideError(errors.ENOENT, `cwd ${cwd}: no such directory`, { cause: err });
    }
    const why = WHY[name] ?? err?.message ?? 'cannot start';
    return new TideError(name === 'ENOTDIR' ? errors.ENOENT : code, `spawn ${file}: ${why}`,
      { cause: err });
  }

  spawn(argvBytes, envBytes, envMode, cwd, stdio, signal) {
    if (this.#closed) throw new TideError(errors.ECANCELED, 'the runtime is closed');
    const argv = strings(argvBytes, 'argv');
    if (argv.length === 0 || argv[0] === '') throw invalid('process_spawn: no program');
    const extra = strings(envBytes, 'env');
    if (envMode !== 0 && envMode !== 1) throw invalid(`process_spawn: bad env mode ${envMode}`);
    const env = envMode === 0 ? { ...this.#env() } : {};
    for (const entry of extra) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    const modes = stdio.map((s, i) => {
      if (!Number.isInteger(s) || s < 0) throw invalid(`process_spawn: bad stdio[${i}]`);
      const mode = MODES[s % 4];
      if (mode !== 'fd') return mode;
      const fd = Math.floor(s / 4) - 1;
      if (fd < 0 || fd > 2) {
        throw new TideError(errors.EBADF,
          `stdio[${i}]: fd ${fd}: only fds 0, 1 and 2 can be given to a child on this host`);
      }
      return fd;
    });
    const file = argv[0];
    const options = { env, stdio: modes, windowsHide: true, argv0: file };
    if (typeof cwd === 'string') options.cwd = cwd;
    const program = this.#find(file, env, options.cwd);
    return new Promise((resolve, reject) => {
      let proc;
      try {
        proc = this.#cp.spawn(program, argv.slice(1), options);
      } catch (e) {
        reject(this.#explain(e, file, options.cwd));
        return;
      }
      const child = new Child(proc);
      let started = false;
      let fds = [];
      const onAbort = () => {
        /* C dropped the spawn (before or after its answer): the child is
         * killed and forgotten, and pipes already handed out as fds closed. */
        proc.kill('SIGKILL');
        for (const fd of fds) {
          try {
            if (fd >= 0) this.#closeFd(fd);
          } catch {
            /* already gone with the runtime */
          }
        }
        for (const s of [proc.stdin, proc.stdout, proc.stderr]) s?.destroy();
        this.#forget(child);
        if (!started) reject(signal.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      proc.on('exit', (code, sig) => child.exited(code, sig, this.#signals));
      /* 'on', not 'once': Node emits 'error' again for a kill that fails
       * (EPERM), and an 'error' nobody listens to would be thrown. */
      proc.on('error', (e) => {
        if (started || signal?.aborted) return; /* a failed kill: the wait still tells */
        signal?.removeEventListener('abort', onAbort);
        reject(this.#explain(e, file, options.cwd));
      });
      proc.once('spawn', () => {
        /* 'spawn' comes a tick later: C may have given up meanwhile. */
        if (signal?.aborted) return;
        started = true;
        child.id = this.#add(child);
        const answer = new DataView(new ArrayBuffer(20));
        fds = [proc.stdin, proc.stdout, proc.stderr].map((s, i) => {
          if (modes[i] !== 'pipe' || !s) return -1;
          /* Node resumes (and so drops what it read of) a child's output pipe
           * that nobody listens to once the child exits (child_process's
           * flushStdio): a 'readable' listener from the start keeps the bytes
           * for C, who may read them long after the exit. Node still reads
           * only up to its high-water mark, so backpressure holds. */
          if (i > 0) s.on('readable', () => {});
          return this.#adopt(s);
        });
        [child.id, proc.pid ?? -1, ...fds].forEach((v, i) => answer.setInt32(4 * i, v, true));
        /* The signal stays armed: if C drops this answer it aborts (above). */
        resolve(new Uint8Array(answer.buffer));
      });
    });
  }

  #add(child) {
    let id = this.#nextId;
    while (this.children.has(id)) id = id >= MAX_ID ? 1 : id + 1;
    this.#nextId = id >= MAX_ID ? 1 : id + 1;
    this.children.set(id, child);
    return id;
  }

  #forget(child) {
    if (this.children.get(child.id) === child) this.children.delete(child.id);
  }

  #child(id) {
    const c = this.children.get(id);
    if (c === undefined) throw new TideError(errors.ESRCH, `no child ${id} on this host`);
    return c;
  }

  wait(id) {
    const c = this.#child(id);
    const done = (rc) => {
      this.#forget(c); /* C has its returncode: the id is free */
      return rc;
    };
    if (c.returncode !== null) return done(c.returncode);
    return new Promise((resolve) => c.waiters.push((rc) => resolve(done(rc))));
  }

  kill(id, signum) {
    const c = this.#child(id);
    if (!Number.isInteger(signum) || signum < 1 || signum > 64) {
      throw invalid(`process_kill: bad signal ${signum}`);
    }
    if (c.returncode !== null) throw new TideError(errors.ESRCH, `child ${id} has exited`);
    try {
      if (!c.proc.kill(signum)) throw new TideError(errors.ESRCH, `child ${id} has exited`);
    } catch (e) {
      /* Node throws EPERM (and emits 'error') when the signal is not allowed. */
      if (e?.code === 'EPERM') throw new TideError(errors.EACCES, `kill ${signum}: not permitted`);
      throw e;
    }
    return undefined;
  }

  close() {
    this.#closed = true;
    for (const c of this.children.values()) {
      c.proc.kill('SIGKILL');
      c.exited(null, 'SIGKILL', this.#signals);
    }
    this.children.clear();
  }

  counts() {
    return { children: this.children.size };
  }
}

/**
 * The subprocess host functions of one runtime.
 * @param {{childProcess: object, adopt: (socket: object) => number,
 *          closeFd: (fd: number) => void,
 *          env: () => Record<string, string>, isDir: (path: string) => boolean,
 *          signals: Record<string, number>, probe: (path: string) => string,
 *          cwd: () => string}} options
 *   childProcess is node:child_process; adopt gives a pipe an fd of the net
 *   table (net.mjs), closeFd takes one back (a pipe C never got); env is the environment children inherit (process.env);
 *   signals maps names to numbers (os.constants.signals); probe says whether
 *   a path is a program this system runs: 'ok', 'ENOENT', 'EACCES' or
 *   'ENOEXEC'; cwd is the process's working directory
 */
export function createProcesses({ childProcess, adopt, closeFd, env, isDir, signals, probe, cwd } = {}) {
  if (typeof childProcess?.spawn !== 'function') {
    throw new TypeError('tideloop: createProcesses: childProcess must be node:child_process');
  }
  const t = new ProcessTable({ childProcess, adopt, closeFd, env, isDir, signals, probe, cwd });
  return {
    functions: new Map([
      [PROCESS_SPAWN, (argv, env2, envMode, cwd, s0, s1, s2, { signal } = {}) =>
        t.spawn(argv, env2, envMode, cwd ?? undefined, [s0, s1, s2], signal)],
      [PROCESS_WAIT, (id) => t.wait(id)],
      [PROCESS_KILL, (id, signum) => t.kill(id, signum)],
    ]),
    counts: () => t.counts(),
    close: () => t.close(),
  };
}
