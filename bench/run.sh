#!/usr/bin/env bash
# run.sh: what `npm run bench` runs: install what is missing, build, measure.
#
#   bash bench/run.sh                 7 rounds of every workload -> bench/RESULTS.md
#   bash bench/run.sh --smoke         each benchmark once with a tiny N: results
#                                     checked, nothing timed (part of npm test)
#   bash bench/run.sh --rounds 7 --only W1-1,W5 --out /tmp/r.md   (see run.mjs)
#
#   bash bench/run.sh --only B-W5     W5 in headless Chromium and Firefox (B: all
#                                     browser workloads; bench/browser/)
#
# As root, the packages come from scripts/ensure-deps.sh. As another user with
# peers missing, it goes on without them and says so: the driver prints
# "!!! SKIPPING ..." and RESULTS.md lists what was skipped.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

# What tideloop's own builds need (the WASI and JS host toolchains), then the
# peers and tools: libev, libuv, uvloop for Debian's python3, Emscripten for
# ASYNCIFY, wabt and binaryen for W7's sizes, valgrind for the profiles.
bash scripts/ensure-deps.sh clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32 || exit 1
if ! bash scripts/ensure-deps.sh libuv1-dev libev-dev python3-uvloop emscripten binaryen wabt valgrind; then
  echo "!!! bench: some peers are not installed; their runs will be SKIPPED (see above)" >&2
fi

# The browser workloads (issue 13): Debian's chromium and firefox-esr, driven
# by puppeteer-core from bench/browser's own lockfile. Missing: their runs are
# skipped, loudly, like any peer's.
if ! bash scripts/ensure-deps.sh chromium firefox-esr; then
  echo "!!! bench: a browser is not installed; its runs will be SKIPPED (see above)" >&2
fi
if [[ ! -d bench/browser/node_modules/puppeteer-core ]]; then
  (cd bench/browser && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "!!! bench: npm ci in bench/browser failed; the browser runs will be SKIPPED" >&2
fi

bash bench/build.sh || exit 1
exec node bench/run.mjs "$@"
