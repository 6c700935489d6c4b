// index.mjs: the package's default entry (browsers, workers, Deno, Bun, any
// standards-compliant engine): the host with a Web-platform adapter.
//
// Ticks run in time slices (scheduler.mjs); between slices the host yields to
// the engine with a MessageChannel message (setTimeout(0) is clamped to 4 ms
// once nested). A page must also get its frames: Firefox paints only about one
// frame in five while a chain of tasks keeps its queue busy (15 fps), whatever
// the primitive (MessageChannel, scheduler.postTask, scheduler.yield: measured
// in docs/TOOLCHAIN.md), and paints at 60 when the main thread waits for an
// animation frame. So in a visible page, after FRAME_WORK_MS of work without a
// frame, the next yield waits for requestAnimationFrame: both engines render
// at 60 fps under a C burst, and C keeps most of each frame.
// Timers are plain setTimeout; a browser has no notion of keeping a process
// alive, so ref/unref are no-ops. Output goes to console.log / console.error,
// C streams on fds 1 and 2 included; a C stream on fd 0 reads options.stdin
// (without it, it is at end of input at once). C has WebSocket messages
// (tide_ws_*, ws.mjs) where the engine has a WebSocket: each runtime gets its
// own sockets, closed with it; elsewhere C gets ENOSYS.

import { loadWith } from './load.mjs';
import { createWebSockets, engineWebSocket } from './ws.mjs';

export {
  TideError, TideExit, errors, errorTable, errorName, strerror, errorCodeOf,
} from './errors.mjs';
export { Runtime } from './runtime.mjs';

/* How long tasks may follow each other before a visible page gets a frame. */
const FRAME_WORK_MS = 10;
/* A frame that does not come (the page was hidden meanwhile: no animation
 * frames) is not waited for longer than this. */
const FRAME_WAIT_MAX_MS = 100;

/* Whether this realm renders frames we should wait for: a window whose
 * document is visible (a worker has no frames; a hidden tab gets none). */
function renders() {
  return typeof requestAnimationFrame === 'function' &&
    globalThis.document?.visibilityState === 'visible';
}

/* One queue of tick callbacks for every runtime in this realm, flushed by one
 * task. The channel is closed whenever the queue runs dry, so an idle runtime
 * holds no port open (an open port keeps some engines' event loops alive,
 * Node's and Deno's among them). */
function createWebAdapter() {
  let queue = [];
  let channel = null;
  /* When the current run of tasks began without a frame (-1: idle). */
  let busySince = -1;
  let frameWait = null; /* the fallback timer while waiting for a frame */
  const run = () => {
    const batch = queue;
    queue = [];
    for (const fn of batch) fn();
    if (queue.length === 0) {
      busySince = -1; /* idle now: the engine renders as it likes */
      if (channel !== null) {
        channel.port1.close();
        channel = null;
      }
    }
  };
  const onFrame = () => {
    if (frameWait === null) return; /* the other of rAF and the fallback won */
    clearTimeout(frameWait);
    frameWait = null;
    busySince = performance.now();
    run();
  };
  return {
    queueTick(fn) {
      queue.push(fn);
      if (queue.length > 1 || frameWait !== null) return;
      const now = performance.now();
      if (busySince < 0) busySince = now;
      else if (now - busySince >= FRAME_WORK_MS && renders()) {
        frameWait = setTimeout(onFrame, FRAME_WAIT_MAX_MS);
        requestAnimationFrame(onFrame);
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
 *          stdin?: *, args?: string[], env?: Record<string, string> | string[],
 *          signal?: AbortSignal}} [options]
 */
export function load(source, options = {}) {
  return loadWith(source, options, webAdapter);
}
