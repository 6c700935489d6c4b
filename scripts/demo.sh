#!/usr/bin/env bash
# demo.sh: install what is missing, build, and run the flagship example, lines,
# on its sample input under Node: the C program built for the JS host
# (build/js/examples/lines.wasm) and run by the npm package's runner,
# js/bin/tideloop-run.mjs. Then the same source runs natively (build/default)
# and the two stdouts are compared byte for byte. What `npm run demo` runs.
# Shares build/js and build/default with scripts/test.sh.
#
#   scripts/demo.sh [lines-options...]    (e.g. -j 2 -t 100; see examples/lines.c)
#
# Results go to stdout in input order; progress lines from a repeating timer go
# to stderr. The sample input fails and times out some lines on purpose, so
# lines exits with status 1 there; the demo treats that as success.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# The JS host build needs clang's wasm32 target, wasm-ld, llvm-ar and wasi-libc,
# as scripts/test.sh's js configuration; Node 20 comes with the machine.
bash scripts/ensure-deps.sh clang-14 lld-14 llvm-14 wasi-libc libclang-rt-14-dev-wasm32
if ! command -v node >/dev/null 2>&1; then
  echo "demo: Node (20 or newer) is needed to run the JS host" >&2
  exit 1
fi

jobs=${TIDE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
js=build/js
native=build/default
out=$(mktemp -d "${TMPDIR:-/tmp}/tide-demo.XXXXXX")
trap 'rm -rf "$out"' EXIT

echo "=== configure $js (the JS host: wasm/toolchain-js.cmake)"
cmake -S . -B "$js" -DCMAKE_BUILD_TYPE=Debug -DTIDE_BUILD_EXAMPLES=ON \
  "-DCMAKE_TOOLCHAIN_FILE=$root/wasm/toolchain-js.cmake" >/dev/null
echo "=== build $js/examples/lines.wasm"
cmake --build "$js" --parallel "$jobs" --target example-lines

echo "=== run on Node: node js/bin/tideloop-run.mjs $js/examples/lines.wasm${*:+ $*}" \
     "< examples/lines-input.txt"
status=0
node js/bin/tideloop-run.mjs "$js/examples/lines.wasm" "$@" < examples/lines-input.txt |
  tee "$out/node.txt" || status=$?
# 0: every line ok; 1: some lines failed or timed out (the sample's intent);
# 2: usage error or the program itself failed.
case $status in
  0) echo "=== lines exited with status 0: every line ok" ;;
  1) echo "=== lines exited with status 1: some lines failed or timed out, as the" \
          "sample input intends" ;;
  *) echo "=== lines failed with status $status" >&2
     exit "$status" ;;
esac

# The same C source, natively: same stdout, byte for byte, and the same status.
echo "=== the same source natively ($native/examples/lines)"
cmake -S . -B "$native" -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$native" --parallel "$jobs" --target example-lines >/dev/null
native_status=0
"$native/examples/lines" "$@" < examples/lines-input.txt > "$out/native.txt" 2>/dev/null ||
  native_status=$?
if cmp -s "$out/node.txt" "$out/native.txt" && ((native_status == status)); then
  echo "=== same output on native and Node: stdout identical byte for byte" \
       "($(wc -c < "$out/node.txt") bytes), exit status $status on both"
else
  echo "=== native and Node differ (native exit status $native_status):" >&2
  diff -u --label node "$out/node.txt" --label native "$out/native.txt" >&2 || true
  exit 1
fi
