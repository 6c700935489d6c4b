#!/usr/bin/env bash
# demo.sh: install what is missing, build, and run the main example; what
# `npm run demo` runs. Shares build/default with scripts/test.sh.
#
#   scripts/demo.sh [example]     (default: tasks_and_pipe; see examples/)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

example=${1:-tasks_and_pipe}
if [[ ! -f examples/$example.c ]]; then
  echo "demo.sh: no example examples/$example.c" >&2
  exit 2
fi

bash scripts/ensure-deps.sh

dir=build/default
jobs=${TIDE_JOBS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
echo "=== configure $dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug >/dev/null
echo "=== build example-$example"
cmake --build "$dir" --parallel "$jobs" --target "example-$example"
echo "=== run $dir/examples/$example"
"$dir/examples/$example"
