#!/usr/bin/env bash
# demo-browser.sh: build the browser demo (build/js: examples/browser/demo.c as
# build/js/examples/browser-demo.wasm) and serve it from 127.0.0.1 with
# tests/browser/server.mjs; prints the URL to open. What `npm run demo:browser`
# runs. TIDE_DEMO_PORT picks the port (default 8080; 0: any free one).
#
# The demo links the comparison page (examples/browser/compare.html: tideloop
# against JSPI), which loads the browser benchmarks' own modules: built here
# into build/bench/ as bench/build.sh builds them, and served as /build/bench/
# through a link build/js/bench -> ../bench (the server serves build/js as /build/).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/ensure-deps.sh clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32
jobs=${TIDE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
if [[ ! -f build/js/CMakeCache.txt ]]; then
  cmake -S . -B build/js -DCMAKE_BUILD_TYPE=Debug -DTIDE_BUILD_EXAMPLES=ON \
    "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake" >/dev/null
fi
cmake --build build/js --parallel "$jobs" --target example-browser-demo >/dev/null

# The comparison page's modules: tideloop's W4 and W5 for the JS host (the
# benchmarks' tree, -O2), and bench/browser's JSPI module.
if [[ ! -f build/bench/js/CMakeCache.txt ]]; then
  cmake -S bench -B build/bench/js "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake" >/dev/null
fi
cmake --build build/bench/js --parallel "$jobs" --target w4_sleepers w5_roundtrip >/dev/null
bash bench/browser/build.sh >/dev/null
ln -sfn ../bench build/js/bench
echo "comparison with JSPI: /examples/browser/compare.html"
exec node tests/browser/server.mjs "${TIDE_DEMO_PORT:-8080}"
