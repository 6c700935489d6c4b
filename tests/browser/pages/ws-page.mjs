// The WebSocket scenarios (tests/shared/ws-scenarios.mjs) in the page, with the
// package's browser entry and the ws test module. The runner calls
// window.runWsScenario(name, {url, http, refused}) with the addresses of the
// suite's WebSocket server (another origin: WebSockets need no CORS).
import { load, TideError, errors } from '/js/src/index.mjs';
import { scenarios } from '/tests/shared/ws-scenarios.mjs';

const module = new URL('/build/tests/modules/tide-ws-test-module.wasm', location.href);

window.wsScenarioNames = Object.keys(scenarios);
window.runWsScenario = async (name, addresses) => {
  try {
    await scenarios[name]({ load, module, TideError, errors, ...addresses });
    return { ok: true };
  } catch (e) {
    return { ok: false, error: String(e?.stack ?? e) };
  }
};
document.getElementById('status').textContent = 'ready';
window.ready = true;
