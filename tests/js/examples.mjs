// examples.mjs: helpers for the suites that run the examples and the modules
// built outside CMake (fetch-example, build-routes, pack); not a test itself.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository checkout. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The JS build tree: $TIDE_JS_BUILD (scripts/test.sh sets it), else build/js. */
export function jsBuildDir() {
  return path.resolve(ROOT, process.env.TIDE_JS_BUILD ?? 'build/js');
}

/** A module of the JS build's examples/. Missing is a failure, not a skip: the
 * JS build builds every one. */
export function requireExampleWasm(name) {
  const file = path.join(jsBuildDir(), 'examples', name);
  if (!existsSync(file)) {
    throw new Error(`${file} is missing: build the JS host tree (bash scripts/test.sh js, ` +
      'or cmake -DCMAKE_TOOLCHAIN_FILE=wasm/toolchain-js.cmake -DTIDE_BUILD_EXAMPLES=ON), ' +
      'or set TIDE_JS_BUILD');
  }
  return file;
}

/** Run a program: {code, stdout, stderr}, never rejecting (code: exit status,
 * or the error's code if it could not run). */
export function run(file, args, options = {}) {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: 60_000, encoding: 'utf8', maxBuffer: 16 << 20, ...options },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

/** Run `node examples/fetch.mjs wasm`. */
export function runFetchExample(wasm, options = {}) {
  return run(process.execPath, [path.join(ROOT, 'examples', 'fetch.mjs'), wasm], options);
}

export const FETCH_EXPECTED = readFileSync(path.join(ROOT, 'examples', 'fetch-expected.txt'), 'utf8');

/** process.env without what node --test sets for its own children: a `node
 * --test` started from a test must report to us as a normal process. */
export function childEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  return env;
}
