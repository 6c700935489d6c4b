#!/usr/bin/env bash
# demo.sh: install what is missing, build, and run the flagship example, lines,
# on its sample input; what `npm run demo` runs. Shares build/default with
# scripts/test.sh.
#
#   scripts/demo.sh [lines-options...]    (e.g. -j 2 -t 100; see examples/lines.c)
#
# Results go to stdout in input order; progress lines from a repeating timer go
# to stderr. The sample input fails and times out some lines on purpose, so
# lines exits with status 1 there; the demo treats that as success.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/ensure-deps.sh

dir=build/default
jobs=${TIDE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
echo "=== configure $dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug >/dev/null
echo "=== build example-lines"
cmake --build "$dir" --parallel "$jobs" --target example-lines
echo "=== run $dir/examples/lines${*:+ $*} < examples/lines-input.txt"
status=0
"$dir/examples/lines" "$@" < examples/lines-input.txt || status=$?
# 0: every line ok; 1: some lines failed or timed out (the sample's intent);
# 2: usage error or the program itself failed.
case $status in
  0) echo "=== lines exited with status 0: every line ok" ;;
  1) echo "=== lines exited with status 1: some lines failed or timed out, as the" \
          "sample input intends" ;;
  *) echo "=== lines failed with status $status" >&2
     exit "$status" ;;
esac
