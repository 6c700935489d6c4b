#!/usr/bin/env bash
# build-js-module.sh: build your C program, with tideloop, into a wasm module for
# the JS host (the npm package `tideloop`), without CMake.
#
#   scripts/build-js-module.sh [options] SOURCE.c... [compiler flags...]
#
#   --cc clang|emcc   the compiler (default clang). A path or a versioned name
#                     works too (clang-14, /opt/emsdk/upstream/emscripten/emcc):
#                     a name containing "emcc" takes the emcc route.
#     clang: clang --target=wasm32-wasi -mexec-model=reactor with wasi-libc,
#            one -Wl,--export=NAME per line of src/backend/js/exports.txt.
#     emcc:  emcc -sSTANDALONE_WASM --no-entry -sERROR_ON_UNDEFINED_SYMBOLS=0
#            -sALLOW_MEMORY_GROWTH -sEXPORTED_FUNCTIONS=<src/backend/js/exports.txt>;
#            no Emscripten JS glue: the package's loader is the glue.
#   -o FILE           the module to write (default: the first source's name, .wasm)
#   -O0 -O1 -O2 -O3 -Os -Oz
#                     optimisation level (default -O2)
#   --debug           keep assert() and debug info (default: -DNDEBUG, so a
#                     release module imports almost no WASI function)
#   --tideloop DIR    the tideloop checkout whose sources to build (default: the
#                     one this script is in; or $TIDE_ROOT)
#   -h, --help
#
# Any other argument that starts with "-" (-I, -D, -W, -l, -L ...) goes to the
# compiler for your sources and the link. Your sources see include/tide.h only;
# TIDE_HOST_JS is defined, so TIDE_MAIN(setup) exports the setup for the host's
# rt.main(). What is built is what the root CMakeLists.txt builds for the JS host
# (src/backend/js/ABI.md, "The module"): your sources, src/core, src/hostops,
# src/common, src/io with its host-call folder (src/io/hostcall), the exit code
# of src/main, the allocator and the JS bridge (src/backend/js), linked as one
# reactor.
#
# Building needs this repository's sources and a toolchain (Debian: clang-14
# lld-14 wasi-libc libclang-rt-14-dev-wasm32, or emscripten); running the module
# needs only Node or a browser and the npm package. See js/README.md, "Build your
# own C module".
set -euo pipefail

prog=build-js-module
die() {
  echo "$prog: $*" >&2
  exit 2
}
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

root=${TIDE_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cc=clang
out=
opt=-O2
debug=0
sources=()
flags=()

while (($#)); do
  case $1 in
    --cc) (($# >= 2)) || die "--cc needs a value"; cc=$2; shift ;;
    --cc=*) cc=${1#--cc=} ;;
    -o) (($# >= 2)) || die "-o needs a file"; out=$2; shift ;;
    -O0 | -O1 | -O2 | -O3 | -Os | -Oz) opt=$1 ;;
    --debug) debug=1 ;;
    --tideloop) (($# >= 2)) || die "--tideloop needs a directory"; root=$2; shift ;;
    -h | --help) usage; exit 0 ;;
    -I | -D | -L | -l | -include) (($# >= 2)) || die "$1 needs a value"; flags+=("$1" "$2"); shift ;;
    -*) flags+=("$1") ;;
    *) sources+=("$1") ;;
  esac
  shift
done

((${#sources[@]})) || die "no sources (try --help)"
for s in "${sources[@]}"; do
  [[ -f $s ]] || die "no such source: $s"
done
[[ -f $root/include/tide.h && -f $root/src/backend/js/exports.txt ]] ||
  die "$root is not a tideloop checkout (no include/tide.h, src/backend/js/exports.txt): use --tideloop DIR"
root=$(cd "$root" && pwd)
if [[ -z $out ]]; then
  out=$(basename "${sources[0]}")
  out=${out%.*}.wasm
fi

case $(basename "$cc") in
  *emcc*) kind=emcc ;;
  *clang*) kind=clang ;;
  *) die "--cc $cc: expected clang or emcc" ;;
esac
command -v "$cc" >/dev/null 2>&1 || die "$cc not found (Debian: apt-get install $(
  [[ $kind == emcc ]] && echo emscripten ||
    echo clang-14 lld-14 wasi-libc libclang-rt-14-dev-wasm32))"

# The exported names, as the CMake route reads them: one C identifier a line.
mapfile -t exports < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*$' "$root/src/backend/js/exports.txt")
((${#exports[@]})) || die "$root/src/backend/js/exports.txt lists no exports"

# The library's sources, by folder, as the root CMakeLists.txt chooses them for
# TIDE_BACKEND=js (the JS host has no fds: I/O is src/io/hostcall).
lib=("$root"/src/core/*.c "$root"/src/hostops/*.c "$root"/src/common/*.c
     "$root"/src/io/*.c "$root"/src/io/hostcall/*.c "$root/src/main/main_exit.c"
     "$root/src/backend/default_alloc.c" "$root/src/backend/no_signals.c"
     "$root"/src/backend/js/*.c)

common=(-std=c11 -DTIDE_HOST_JS "$opt")
if ((debug)); then
  common+=(-g)
else
  common+=(-DNDEBUG)
fi
case $kind in
  clang)
    common=(--target=wasm32-wasi "${common[@]}")
    link=(-mexec-model=reactor)
    for name in "${exports[@]}"; do link+=("-Wl,--export=$name"); done
    # A release drops the name section and the debug info that Debian's
    # wasi-libc brings along (two thirds of a small module).
    ((debug)) || link+=(-Wl,--strip-all)
    ;;
  emcc)
    # emcc 3.1.6 needs acorn and friends from Debian's node modules at -O1+.
    if [[ -z ${NODE_PATH:-} && -d /usr/share/nodejs ]]; then export NODE_PATH=/usr/share/nodejs; fi
    list=$(printf ',_%s' "${exports[@]}")
    # The "tideloop" imports are undefined symbols to emcc: allow them, quietly
    # (the import check below catches real ones).
    link=(-sSTANDALONE_WASM --no-entry -sERROR_ON_UNDEFINED_SYMBOLS=0
          -sALLOW_MEMORY_GROWTH=1 -sWARN_ON_UNDEFINED_SYMBOLS=0 "-sEXPORTED_FUNCTIONS=${list#,}")
    ;;
esac

# The library is compiled on its own, with its private include directories, so
# that your sources see only include/ (a header of yours named queue.h or
# hostops.h cannot be confused with the library's), and without your warning
# flags: its own are checked by its CMake builds. (The CMake build also gives
# each layer only its own include path; this one-shot build does not need to.)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tide-js-module.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && "$cc" "${common[@]}" \
  -I"$root/include" -I"$root/src/common" -I"$root/src/backend" -I"$root/src/core" \
  -I"$root/src/hostops" -I"$root/src/io" -I"$root/src/io/hostcall" \
  -c "${lib[@]}") || die "compiling the tideloop sources failed"
objects=("$tmp"/*.o)
((${#objects[@]} == ${#lib[@]})) || die "two library sources share a file name"

mkdir -p "$(dirname "$out")"
"$cc" "${common[@]}" -I"$root/include" "${flags[@]}" "${sources[@]}" "${objects[@]}" \
  "${link[@]}" -o "$out" || die "building $out failed"

# emcc turns every undefined symbol into an import (ERROR_ON_UNDEFINED_SYMBOLS=0
# is what lets the "tideloop" imports through), so a function you forgot to
# define would only fail at load. Check the imports here instead (with node,
# when it is installed): "tideloop", WASI, and emcc's memory-growth notice only.
if command -v node >/dev/null 2>&1; then
  bad=$(node -e '
    const m = new WebAssembly.Module(require("fs").readFileSync(process.argv[1]));
    const ok = (i) => i.module === "tideloop" || i.module === "wasi_snapshot_preview1" ||
      (i.module === "env" && i.name === "emscripten_notify_memory_growth");
    console.log(WebAssembly.Module.imports(m).filter((i) => !ok(i))
      .map((i) => i.module + "." + i.name).join(" "));' "$out") || die "cannot read $out back"
  if [[ -n $bad ]]; then
    rm -f "$out"
    die "undefined symbols (not a tideloop or WASI import): $bad"
  fi
fi
echo "$prog: wrote $out ($(wc -c <"$out") bytes, $kind $opt$( ((debug)) && echo ' debug'))"
