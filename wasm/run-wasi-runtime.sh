#!/bin/sh
# run-wasi-runtime.sh: run a wasm32-wasi command under any WASI preview1 runtime,
# so one ctest registration serves them all (wasm/wasi-runtimes.cmake):
#
#   sh wasm/run-wasi-runtime.sh RUNTIME PROGRAM.wasm [ARGS...]
#
# RUNTIME is the runtime's executable; its file name says how to invoke it.
# stdin/stdout/stderr are the process's and the exit code is the program's (a
# trap: the runtime's own failing code). To plug in another runtime, add a case.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: run-wasi-runtime.sh RUNTIME PROGRAM.wasm [ARGS...]" >&2
  exit 2
fi
rt=$1
prog=$2
shift 2
case $(basename "$rt") in
  iwasm*) exec "$rt" "$prog" "$@" ;;              # WAMR: args follow the module
  wasmtime*) exec "$rt" run "$prog" "$@" ;;
  wasmer*) exec "$rt" run "$prog" -- "$@" ;;
  node*) exec "$rt" --no-warnings "$(dirname "$0")/run-wasi.mjs" "$prog" "$@" ;;
  *)
    echo "run-wasi-runtime.sh: do not know how to run $rt (add a case)" >&2
    exit 2
    ;;
esac
