// imports.mjs: the link between a module and this host (src/backend/js/ABI.md "The
// module", "Imports" and "Exports"): the import object a module is instantiated
// with (the `tideloop` imports, which hand what C asks for to the scheduler, the
// host operations and the exported calls; the WASI subset of wasi.mjs, with an
// ENOSYS stub for the rest; a few harmless others) and the check that the
// instance has the exports this host calls. An import the host does not
// provide fails the load, saying which.

import { utf8 } from './values.mjs';
import { errors } from './errors.mjs';
import { readMemory } from './wire.mjs';
import { wasiImports, wasiUnsupported } from './wasi.mjs';
import { nowMs, reportUncaught } from './state.mjs';

/** The exports every tideloop module has (src/backend/js/exports.txt). */
export const REQUIRED_EXPORTS = Object.freeze([
  'memory',
  'tide_js_loop_new',
  'tide_js_loop_free',
  'tide_js_tick',
  'tide_js_tick_settle',
  'tide_js_take',
  'tide_js_ring',
  'tide_js_next_timeout',
  'tide_js_has_ref',
  'tide_js_alloc',
  'tide_js_free',
  'tide_js_complete',
  'tide_js_call',
  'tide_js_cancel',
  'tide_js_main',
  'tide_js_exit_code',
]);

const TIDELOOP_IMPORTS = new Set([
  'now_ms',
  'schedule',
  'report',
  'host_start',
  'host_cancel',
  'call_done',
  'fd_read_now',
  'fd_write_now',
]);

/* Imports outside `tideloop` and WASI that a module may have and that need no
 * behaviour: emcc's standalone modules announce memory growth through this one. */
const HARMLESS_IMPORTS = new Map([
  ['env.emscripten_notify_memory_growth', () => {}],
]);

/**
 * The import object for `module`. parts: {state (the RuntimeState), sched,
 * hostOps, calls, args, env, onExit (called with exit()'s status), unsupported
 * (an array that gets the names of the WASI imports stubbed with ENOSYS)}.
 */
export function linkImports(module, parts) {
  const { state, args, env, onExit, unsupported } = parts;
  const wanted = WebAssembly.Module.imports(module);
  const wasi = wasiImports({
    memory: () => state.exports.memory,
    stdout: state.stdout,
    stderr: state.stderr,
    args,
    env,
    onExit,
  });
  const tideloop = tideloopImports(parts);
  const out = { tideloop: {}, wasi_snapshot_preview1: {} };
  const unknown = [];
  for (const { module: mod, name, kind } of wanted) {
    const full = `${mod}.${name}`;
    if (kind !== 'function') unknown.push(`${full} (${kind})`);
    else if (mod === 'tideloop' && TIDELOOP_IMPORTS.has(name)) out.tideloop[name] = tideloop[name];
    else if (mod === 'wasi_snapshot_preview1') {
      if (Object.hasOwn(wasi, name)) out[mod][name] = wasi[name];
      else {
        out[mod][name] = wasiUnsupported;
        unsupported.push(name);
      }
    } else if (HARMLESS_IMPORTS.has(full)) {
      (out[mod] ??= {})[name] = HARMLESS_IMPORTS.get(full);
    } else unknown.push(full);
  }
  if (unknown.length) {
    throw new Error(`tideloop: the module imports ${unknown.join(', ')}, which this host ` +
      'does not provide (see src/backend/js/ABI.md for what a module may import)');
  }
  if (unsupported.length) {
    /* Loud on purpose: a C call that reaches one of these fails with ENOSYS,
     * and the user should know before that happens. */
    state.stderr.write(utf8(
      `tideloop: this host does not provide the WASI imports ${unsupported.join(', ')}` +
        ' of this module; calls to them fail with ENOSYS\n',
    ));
  }
  return out;
}

/* The `tideloop` import module (ABI.md "Imports"). Everything C passes is
 * checked: a bad pointer from C must not crash the host. direct: the direct
 * socket I/O imports (direct-io.mjs). */
function tideloopImports({ state: s, sched, hostOps, calls, direct }) {
  const ours = (loop) => s.loop !== 0 && loop >>> 0 === s.loop;
  /* An exception must never unwind through C from here (C would be left
   * half-way through a function): report it as uncaught and return. */
  const guard = (f) => (a, b, c, d, e, g) => {
    try {
      return f(a, b, c, d, e, g);
    } catch (e) {
      reportUncaught(e);
      return undefined;
    }
  };
  const imports = {
    now_ms: nowMs,
    schedule: (loop) => {
      if (ours(loop)) sched.ensureTick();
    },
    report: (_loop, ptr, len) => {
      const bytes = readMemory(s.exports.memory, ptr, len);
      s.stderr.write(bytes ?? utf8('tideloop: report() with a pointer outside memory'));
      s.stderr.write(utf8('\n'));
    },
    host_cancel: (loop, op) => {
      if (!ours(loop)) return;
      hostOps.hostCancel(op >>> 0);
    },
    call_done: (loop, call, code, ptr, len) => {
      if (!ours(loop)) return;
      calls.callDone(call >>> 0, code | 0, ptr, len);
    },
  };
  for (const k of Object.keys(imports)) if (k !== 'now_ms') imports[k] = guard(imports[k]);
  /* On every round trip: HostOps' own arrow, which checks the loop and
   * guards itself, so that nothing runs between wasm and it. */
  imports.host_start = hostOps.hostStart;
  /* These answer a code: one for a loop that is not ours, ENOSYS (use the
   * host operations instead) if anything throws. */
  const answer = (f) => (loop, fd, ptr, len) => {
    if (!ours(loop)) return errors.EINVAL;
    try {
      return f(fd, ptr, len);
    } catch (e) {
      reportUncaught(e);
      return errors.ENOSYS;
    }
  };
  imports.fd_read_now = answer(direct.fd_read_now);
  imports.fd_write_now = answer(direct.fd_write_now);
  return imports;
}

/* Throw unless the instance's exports `x` are those of a tideloop reactor. */
export function checkExports(x) {
  if (typeof x._initialize !== 'function' && typeof x._start === 'function') {
    throw new Error('tideloop: the module is a WASI command (_start); build it as a ' +
      'reactor (-mexec-model=reactor, or emcc --no-entry)');
  }
  const missing = [...REQUIRED_EXPORTS, '_initialize'].filter((n) => !(n in x));
  if (missing.length) {
    throw new Error(`tideloop: the module lacks the exports ${missing.join(', ')} ` +
      '(is it linked with src/backend/js/exports.c and src/backend/js/exports.txt?)');
  }
}
