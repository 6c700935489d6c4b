// worker.mjs: a module Worker running the C test module through the package's
// browser entry. Messages in: {id, name, args} calls rt.call(name, args) with
// an AbortSignal of its own; {cancel: id} aborts it. Out: {ready} once loaded,
// then {id, value} or {id, error: {name, code, errno, message, tide}}.
import { load, TideError } from '/js/src/index.mjs';

const rt = await load(new URL('/build/tests/modules/tide-test-module.wasm', location.href));
await rt.main(['tide-test-module']);
const running = new Map();

self.onmessage = async ({ data }) => {
  if (data.cancel !== undefined) {
    running.get(data.cancel)?.abort();
    return;
  }
  const ac = new AbortController();
  running.set(data.id, ac);
  try {
    const value = await rt.call(data.name, data.args ?? [], { signal: ac.signal });
    self.postMessage({ id: data.id, value });
  } catch (e) {
    const error = e instanceof TideError
      ? { name: e.name, code: e.code, errno: e.errno, message: e.message, tide: true }
      : { name: e?.name, message: String(e?.message ?? e), tide: false };
    self.postMessage({ id: data.id, error });
  } finally {
    running.delete(data.id);
  }
};
self.postMessage({ ready: true, inWorker: typeof window === 'undefined' });
