#!/usr/bin/env bash
# build.sh: build every benchmark program into build/bench/ (incremental).
#
#   build/bench/native   tideloop (-O2, epoll) benchmarks + floor, libev, libuv peers
#   build/bench/wasi     the same benchmarks as wasm32-wasi commands
#   build/bench/js       the same as JS host modules, plus W5 and W7
#   build/bench/js-small W7 in the size build (-DTIDE_SIZE=ON, README.md)
#   build/bench/emcc     the Emscripten programs of W5 and W7 (ASYNCIFY, callback)
#   build/bench/browser  the browser workloads' JSPI module and ASYNCIFY web build
#
# Each tree is configured once and rebuilt incrementally; configure output goes
# to build/bench/<tree>.configure.log and is shown only on failure.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
jobs=${TIDE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
mkdir -p build/bench

cmake_tree() {
  local name=$1
  shift
  local log="build/bench/$name.configure.log"
  echo "=== bench build: $name"
  if ! cmake -S bench -B "build/bench/$name" "$@" >"$log" 2>&1; then
    cat "$log"
    return 1
  fi
  grep -A2 "CMake Warning" "$log" || true
  cmake --build "build/bench/$name" --parallel "$jobs" >/dev/null
}

cmake_tree native
cmake_tree wasi "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-wasi.cmake"
cmake_tree js "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake"
cmake_tree js-small "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake" -DTIDE_SIZE=ON

# The browser workloads' own modules (JSPI; ASYNCIFY with web glue).
bash bench/browser/build.sh

# The Emscripten programs: plain emcc, rebuilt when their source is newer.
if ! command -v emcc >/dev/null 2>&1; then
  echo "!!! bench build: emcc not found (apt-get install emscripten): W5/W7 ASYNCIFY runs will be skipped"
  exit 0
fi
export NODE_PATH=/usr/share/nodejs # emcc 3.1.6 needs it at -O1+ (docs/TOOLCHAIN.md)
out=build/bench/emcc
src=bench/emcc
mkdir -p "$out"
# Out of date: missing, or older than its sources or than this script (flags).
stale() { [[ ! -e $1 || $2 -nt $1 || ${3:-$2} -nt $1 || bench/build.sh -nt $1 ]]; }
echo "=== bench build: emcc"
# -sENVIRONMENT=node and synchronous compilation: the glue then reads the .wasm
# with fs instead of fetch(), which fails on a path under Node 18+.
glue=(-O2 -sASYNCIFY -sENVIRONMENT=node -sWASM_ASYNC_COMPILATION=0 -sEXIT_RUNTIME=1)
if stale $out/w5_asyncify.wasm $src/w5_asyncify.c $src/w5_ping.pre.js; then
  emcc "${glue[@]}" --pre-js $src/w5_ping.pre.js $src/w5_asyncify.c -o $out/w5_asyncify.js
fi
if stale $out/w7_asyncify.wasm $src/w7_asyncify.c; then
  emcc "${glue[@]}" $src/w7_asyncify.c -o $out/w7_asyncify.js
fi
# No glue at all: the imports are ours (bench/js/w5-callback.mjs).
if stale $out/w5_callback.wasm $src/w5_callback.c; then
  emcc -O2 -sSTANDALONE_WASM --no-entry -sERROR_ON_UNDEFINED_SYMBOLS=0 \
    $src/w5_callback.c -o $out/w5_callback.wasm 2>&1 | grep -v "undefined symbol: \(ping\|done\)" || true
  [[ -e $out/w5_callback.wasm ]]
fi
