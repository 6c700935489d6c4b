// availability.mjs: which groups of runs can run on this machine. A missing
// group is skipped and said so, loudly, in the output and in RESULTS.md; as
// root, bench/run.sh installs the packages first, so normally nothing is.
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BUILD, PYTHON, ROOT } from './paths.mjs';
import { GROUPS } from './workloads.mjs';
import { ENGINE_NAMES, emccGroup, browserGroup, BROWSER_EXECUTABLES } from './browser-workloads.mjs';

const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const need = (file, what) => (existsSync(path.join(BUILD, file)) ? null : `${what} not built (${file})`);

/** {group: null if available, else why not}. */
export function checkGroups() {
  const why = {};
  why[GROUPS.TIDE] = need('native/w1_chains', 'tideloop benchmarks') ??
    need('wasi/w1_chains.wasm', 'WASI benchmarks') ?? need('js/w1_chains.wasm', 'JS host benchmarks');
  why[GROUPS.C_PEERS] = need('native/libev_chains', 'libev/libuv peers (libev-dev, libuv1-dev)');
  why[GROUPS.NODE] = null;
  why[GROUPS.ASYNCIO] = ok(PYTHON, ['-c', 'import asyncio']) ? null : `${PYTHON} missing`;
  why[GROUPS.UVLOOP] = ok(PYTHON, ['-c', 'import uvloop'])
    ? null : 'python3-uvloop is not installed (apt-get install python3-uvloop)';
  why[GROUPS.EMCC] = need('emcc/w5_asyncify.wasm', 'Emscripten builds (emscripten)');
  /* W6: the client for all, then each server. tideloop's is examples/echo.c,
   * built by bench/CMakeLists.txt. */
  const client = need('native/echo_client', "W6's echo client");
  const example = (file) => need(file, "tideloop's echo example (examples/echo.c)");
  why[GROUPS.ECHO_TIDE] = client ?? example('native/echo');
  why[GROUPS.ECHO_TIDE_JS] = client ?? example('js/echo.wasm');
  why[GROUPS.ECHO_LIBUV] = client ?? need('native/libuv_echo', 'libuv echo server (libuv1-dev)');
  why[GROUPS.ECHO_NODE] = client;
  return why;
}

/** The browser groups (driver/browser-workloads.mjs): {group: null or why not}. */
export function checkBrowserGroups() {
  const why = {};
  const driver = existsSync(path.join(ROOT, 'bench/browser/node_modules/puppeteer-core'))
    ? null : 'puppeteer-core is not installed (bench/run.sh runs npm ci in bench/browser)';
  const modules = need('js/w5_roundtrip.wasm', 'JS host benchmarks') ??
    need('browser/jspi.wasm', 'the JSPI module (bench/browser/build.sh)');
  for (const engine of ENGINE_NAMES) {
    const exe = BROWSER_EXECUTABLES[engine];
    const base = driver ?? (existsSync(exe.path) ? null : `${exe.path} is missing (apt-get install ${exe.package})`) ?? modules;
    why[browserGroup(engine)] = base;
    why[emccGroup(engine)] = base ??
      need('browser/w5_asyncify.mjs', "ASYNCIFY's web build (emscripten)") ??
      need('emcc/w5_callback.wasm', 'the hand-written callback (emscripten)');
  }
  return why;
}
