// helpers.mjs: shared by the package's node --test suites (not a test itself:
// node --test runs only *.test.mjs here).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { load } from '../../js/src/node.mjs';

/** The C test module (tests/modules/test-module.c): TIDE_TEST_MODULE (scripts/test.sh
 * sets it), else the js config's tree, build/js, which `bash scripts/test.sh js`
 * builds, so `node --test tests/js/` works by hand after it. */
export const MODULE = process.env.TIDE_TEST_MODULE ??
  fileURLToPath(new URL('../../build/js/tests/modules/tide-test-module.wasm', import.meta.url));

/** The node entry and the default (browser) entry, as file URLs for children. */
export const NODE_ENTRY = new URL('../../js/src/node.mjs', import.meta.url).href;
export const WEB_ENTRY = new URL('../../js/src/index.mjs', import.meta.url).href;
export const PACKAGE_DIR = fileURLToPath(new URL('../../js/', import.meta.url));

/* A missing module is a failure, not a skip: skipping would hide every test. */
export function requireModule() {
  if (!existsSync(MODULE)) {
    throw new Error(`the C test module is missing: ${MODULE} (build it with ` +
      '`bash scripts/test.sh js`, or set TIDE_TEST_MODULE)');
  }
  return MODULE;
}

/**
 * Load the test module with output captured and its setup run (which exports
 * the coroutines): returns {rt, out, err} with the captured lines.
 */
export async function loadTest(options = {}) {
  const out = [];
  const err = [];
  const rt = await load(requireModule(), {
    stdout: (l) => out.push(l),
    stderr: (l) => err.push(l),
    ...options,
  });
  const code = await rt.main(['tide-test-module']);
  if (code !== 0) throw new Error(`test module setup failed: ${code}`);
  return { rt, out, err };
}

/** A promise with its resolve/reject (Promise.withResolvers is Node 22+). */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolve after the current macrotask and everything queued before it. */
export function macrotask() {
  return new Promise((r) => setImmediate(r));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wait until pred() is true, polling once per macrotask (bounded). */
export async function until(pred, what = 'condition', limit = 10000) {
  for (let i = 0; i < limit; i++) {
    if (pred()) return;
    await macrotask();
  }
  throw new Error(`timed out waiting for ${what}`);
}
