// index.mjs: the package's default entry (browsers, workers, Deno, Bun, any
// standards-compliant engine): the host with a Web-platform adapter.
//
// Ticks run in time slices (scheduler.mjs); between slices the host yields to
// the engine through the best primitive it has: scheduler.postTask where the
// engine has the Prioritized Task Scheduling API (Chromium 94+, Firefox 142+),
// which lets rendering and input in between tasks by design; else a
// MessageChannel message (setTimeout(0) is clamped to 4 ms once nested); else
// setTimeout. So rendering is never starved.
// Timers are plain setTimeout; a browser has no notion of keeping a process
// alive, so ref/unref are no-ops. Output goes to console.log / console.error,
// C streams on fds 1 and 2 included; a C stream on fd 0 reads options.stdin
// (without it, it is at end of input at once). C has WebSocket messages
// (tide_ws_*, ws.mjs) where the engine has a WebSocket: each runtime gets its
// own sockets, closed with it; elsewhere C gets ENOSYS.

import { loadWith } from './load.mjs';
import { createWebSockets, engineWebSocket } from './ws.mjs';

export { TideError, TideExit, errors, errorTable, errorName, strerror } from './errors.mjs';
export { Runtime } from './runtime.mjs';

/* The engine's Prioritized Task Scheduling API, if it has one. */
function taskScheduler() {
  const s = globalThis.scheduler;
  return s !== undefined && s !== null && typeof s.postTask === 'function' ? s : null;
}

/* One queue of tick callbacks for every runtime in this realm, flushed by one
 * task. A MessageChannel is closed whenever the queue runs dry, so an idle
 * runtime holds no port open (an open port keeps some engines' event loops
 * alive, Node's and Deno's among them). */
function createWebAdapter() {
  let queue = [];
  let channel = null;
  const run = () => {
    const batch = queue;
    queue = [];
    for (const fn of batch) fn();
    if (queue.length === 0 && channel !== null) {
      channel.port1.close();
      channel = null;
    }
  };
  /* run() reports its own errors (the scheduler's callbacks catch theirs);
   * should one escape, it surfaces as uncaught, not as a rejected promise. */
  const rethrow = (e) => {
    setTimeout(() => {
      throw e;
    }, 0);
  };
  return {
    queueTick(fn) {
      queue.push(fn);
      if (queue.length > 1) return;
      const tasks = taskScheduler();
      if (tasks !== null) {
        tasks.postTask(run).catch(rethrow);
        return;
      }
      if (typeof MessageChannel !== 'function') {
        setTimeout(run, 0);
        return;
      }
      if (channel === null) {
        channel = new MessageChannel();
        channel.port1.onmessage = run;
      }
      channel.port2.postMessage(0);
    },
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (h) => clearTimeout(h),
    refTimer() {},
    stdout: (line) => console.log(line),
    stderr: (line) => console.error(line),
    /* Per runtime, looked up when the runtime is made (a polyfill installed
     * after this module loaded counts). No counts(): rt._net stays null, as
     * there are no TCP sockets here. */
    builtins() {
      const WebSocket = engineWebSocket();
      if (WebSocket === null) return null;
      const ws = createWebSockets({ WebSocket });
      return { functions: ws.functions, close: ws.close };
    },
  };
}

const webAdapter = createWebAdapter();

/**
 * Load a tideloop module: bytes (ArrayBuffer / typed array), a URL or URL
 * string (fetched), a fetch Response, a WebAssembly.Module, or a promise of one.
 * @param {*} source
 * @param {{stdout?: (line: string) => void, stderr?: (line: string) => void,
 *          stdin?: *, args?: string[], env?: Record<string, string> | string[]}} [options]
 */
export function load(source, options = {}) {
  return loadWith(source, options, webAdapter);
}
