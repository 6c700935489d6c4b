#!/usr/bin/env bash
# build.sh: the browser benchmarks' own modules, into build/bench/browser/
# (bench/build.sh runs this; tideloop's modules come from build/bench/js/).
#
#   jspi.wasm                  bench/browser/jspi.c: plain C, clang --target=wasm32,
#                              no libc, no runtime (JSPI needs no toolchain support)
#   w5_asyncify.{mjs,wasm}     bench/emcc/w5_asyncify.c with Emscripten's web glue
#                              (ES module factory), so ASYNCIFY runs in a page
#
# Each is rebuilt when missing or older than its source or this script.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
out=build/bench/browser
mkdir -p "$out"
stale() { [[ ! -e $1 || $2 -nt $1 || ${3:-$2} -nt $1 || bench/browser/build.sh -nt $1 ]]; }

echo "=== bench build: browser"
if stale $out/jspi.wasm bench/browser/jspi.c; then
  clang --target=wasm32 -O2 -nostdlib -Wl,--no-entry bench/browser/jspi.c -o $out/jspi.wasm
fi

if ! command -v emcc >/dev/null 2>&1; then
  echo "!!! bench build: emcc not found (apt-get install emscripten): the browsers' ASYNCIFY runs will be skipped"
  exit 0
fi
export NODE_PATH=/usr/share/nodejs # emcc 3.1.6 needs it at -O1+ (docs/TOOLCHAIN.md)
# The same program and flags as the Node build (bench/build.sh), with the web
# environment's glue as an ES module: a factory per run, main(argv) at start,
# Module.onExit when it returns.
if stale $out/w5_asyncify.wasm bench/emcc/w5_asyncify.c bench/emcc/w5_ping.pre.js; then
  emcc -O2 -sASYNCIFY -sENVIRONMENT=web -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXIT_RUNTIME=1 \
    --pre-js bench/emcc/w5_ping.pre.js bench/emcc/w5_asyncify.c -o $out/w5_asyncify.mjs
fi
