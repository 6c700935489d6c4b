// The shared scenario bodies (tests/shared/scenarios.mjs) in the page, with the
// package's browser entry. The runner calls window.runScenario(name).
import { load, TideError, errors } from '/js/src/index.mjs';
import { scenarios } from '/tests/shared/scenarios.mjs';

const env = { load, module: new URL('/build/tests/modules/tide-test-module.wasm', location.href),
  TideError, errors };

window.scenarioNames = Object.keys(scenarios);
window.runScenario = async (name) => {
  try {
    await scenarios[name](env);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: String(e?.stack ?? e) };
  }
};
document.getElementById('status').textContent = 'ready';
window.ready = true;
