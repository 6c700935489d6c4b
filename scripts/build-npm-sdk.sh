#!/usr/bin/env bash
# build-npm-sdk.sh: build the C SDK the npm package ships, into js/sdk/, for
# `tideloop-cc` (js/bin/tideloop-cc.mjs). scripts/build-npm-wasm.sh (the
# package's "prepack") runs it last, so a packed tarball never holds a stale or
# missing SDK; the SDK is never committed.
#
#   scripts/build-npm-sdk.sh
#
# js/sdk/ afterwards:
#   include/tide.h, include/tide/private.h   the public header, as installed
#   lib/wasm32-js/libtideloop.a    the library for the JS host: what the root
#                                  CMakeLists.txt builds with wasm/toolchain-js.cmake
#                                  (TIDE_HOST_JS, src/backend/js)
#   lib/wasm32-js/exports.txt      src/backend/js/exports.txt: the names a module
#                                  for the JS host must export
#   lib/wasm32-js-small/libtideloop.a  the JS host's size build (-DTIDE_SIZE=ON,
#                                  README.md "The size build"), for
#                                  tideloop-cc --small: LLVM 14 bitcode (-flto
#                                  -Oz -mbulk-memory), so clang 14 or newer only
#   lib/wasm32-js-small/exports.txt  the same list as wasm32-js's
#   lib/wasm32-wasi/libtideloop.a  the library for WASI commands: what
#                                  wasm/toolchain-wasi.cmake builds (wasi.c, src/main)
#   sdk.json                       how it was built (compiler, flags), for
#                                  `tideloop-cc --version`
# The js and wasi libraries are release builds (-O2 -DNDEBUG, no debug info) of
# wasm32 object files (not LLVM bitcode), made with clang --target=wasm32-wasi
# and wasi-libc's headers in $TIDE_SDK_BUILD (default build/sdk)/{js,wasi}; the
# size build's is bitcode, in .../js-small, and never linked by emcc.
#
# The JS-host library is also linked by emcc (tideloop-cc --cc emcc): Emscripten
# 3.1.6 is LLVM 14 too and reads these objects, and both C libraries are musl
# with WASI's errno values. That holds only while the library calls nothing in
# libc whose ABI differs between wasi-libc and Emscripten (a struct, time_t,
# off_t, a FILE's insides): the libc functions it may call are listed below, and
# a build that needs another one fails here, naming it, until someone checks it
# and adds it.
#
# Needs the repository checkout, cmake, clang-14, lld-14, llvm-14, wasi-libc and
# libclang-rt-14-dev-wasm32 (scripts/ensure-deps.sh installs them). Fails, saying
# why, rather than leave a partial js/sdk/ behind.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TIDE_SDK_BUILD:-$root/build/sdk}
dest=$root/js/sdk
jobs=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)

# What the JS-host library may import from libc, besides the "tideloop" host
# imports (tide__js_*): every one takes and returns only pointers, ints and
# size_t (fflush only ever gets NULL; inet_* take byte arrays), so its ABI is the
# same in wasi-libc and in Emscripten's libc.
emcc_safe_libc=(fflush free inet_ntop inet_pton malloc calloc realloc memchr memcmp memcpy
  memmove memset snprintf vsnprintf strchr strcmp strlen strncmp strncpy strnlen __stack_pointer)

die() {
  echo "build-npm-sdk: $*" >&2
  echo "build-npm-sdk: the npm package needs its C SDK; nothing was packed" >&2
  rm -rf "$dest"
  exit 1
}

command -v cmake >/dev/null 2>&1 || die "cmake is not installed"
nm=$(command -v llvm-nm-14 || command -v llvm-nm || true)
[[ -n $nm ]] || die "llvm-nm is not installed (Debian: llvm-14)"

# build_lib <name> <toolchain file> [cmake options]: configure and build the
# tideloop target.
build_lib() {
  local tree=$build/$1 log=$build/$1.configure.log
  mkdir -p "$build"
  echo "build-npm-sdk: building the $1 library in $tree" >&2
  # CMAKE_C_FLAGS_RELEASE: -O2, not CMake's -O3 (smaller code for the same speed
  # here); no -g, so no debug info goes into the archive.
  if ! cmake -S "$root" -B "$tree" -DCMAKE_TOOLCHAIN_FILE="$root/wasm/$2" \
    -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DTIDE_BUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF "${@:3}" >"$log" 2>&1; then
    cat "$log" >&2
    die "configuring $tree failed (is the wasm toolchain installed? see wasm/$2)"
  fi
  cmake --build "$tree" --target tideloop --parallel "$jobs" >&2 || die "building $tree failed"
  [[ $(head -c 8 "$tree/libtideloop.a") == '!<arch>' ]] || die "$tree/libtideloop.a is not an archive"
}

build_lib js toolchain-js.cmake
build_lib js-small toolchain-js.cmake -DTIDE_SIZE=ON
build_lib wasi toolchain-wasi.cmake

js_lib=$build/js/libtideloop.a
wasi_lib=$build/wasi/libtideloop.a
mapfile -t exports < <(grep -E '^[A-Za-z_][A-Za-z0-9_]*$' "$root/src/backend/js/exports.txt")
((${#exports[@]})) || die "src/backend/js/exports.txt lists no exports"

# Every export is defined in both JS libraries (a module links them with --export).
defined_in() { "$nm" --defined-only "$1" 2>/dev/null | awk 'NF == 3 { print $3 }' | sort -u; }
for lib in "$js_lib" "$build/js-small/libtideloop.a"; do
  names=$(defined_in "$lib")
  for name in "${exports[@]}"; do
    grep -qx "$name" <<<"$names" || die "$lib does not define $name (src/backend/js/exports.txt)"
  done
done
defined=$(defined_in "$js_lib")
# main() comes from TIDE_MAIN in the user's code under WASI: the library has
# tide_main_run (src/main) for it.
"$nm" --defined-only "$wasi_lib" 2>/dev/null | awk 'NF == 3 { print $3 }' | grep -qx tide_main_run ||
  die "$wasi_lib does not define tide_main_run (src/main)"

# The emcc check: what the JS library needs from outside itself.
undefined=$("$nm" --undefined-only "$js_lib" 2>/dev/null | awk 'NF == 2 { print $2 }' | sort -u)
unsafe=()
for sym in $undefined; do
  grep -qx "$sym" <<<"$defined" && continue
  [[ $sym == tide__js_* ]] && continue
  [[ " ${emcc_safe_libc[*]} " == *" $sym "* ]] || unsafe+=("$sym")
done
((${#unsafe[@]} == 0)) || die "the JS-host library now calls ${unsafe[*]} from libc: check that its \
ABI is the same in wasi-libc and Emscripten (no struct, time_t, off_t or FILE internals), then add it \
to emcc_safe_libc in scripts/build-npm-sdk.sh (tideloop-cc --cc emcc links this library)"

cc_version=$(sed -n 's/^CMAKE_C_COMPILER_VERSION:.*=//p' "$build/js/CMakeCache.txt" 2>/dev/null || true)
[[ -n $cc_version ]] || cc_version=$(grep -m1 -o 'CMAKE_C_COMPILER_VERSION "[^"]*"' \
  "$build"/js/CMakeFiles/*/CMakeCCompiler.cmake | sed 's/.*"\(.*\)"/\1/' || true)
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$root/js/package.json" | head -n 1)

rm -rf "$dest"
mkdir -p "$dest/include/tide" "$dest/lib/wasm32-js" "$dest/lib/wasm32-js-small" "$dest/lib/wasm32-wasi"
cp "$root/include/tide.h" "$dest/include/"
cp "$root/include/tide/private.h" "$dest/include/tide/"
cp "$js_lib" "$dest/lib/wasm32-js/libtideloop.a"
printf '%s\n' "${exports[@]}" >"$dest/lib/wasm32-js/exports.txt"
cp "$build/js-small/libtideloop.a" "$dest/lib/wasm32-js-small/libtideloop.a"
printf '%s\n' "${exports[@]}" >"$dest/lib/wasm32-js-small/exports.txt"
cp "$wasi_lib" "$dest/lib/wasm32-wasi/libtideloop.a"
cat >"$dest/sdk.json" <<EOF
{
  "tideloop": "$version",
  "compiler": "clang $cc_version --target=wasm32-wasi, wasi-libc",
  "cflags": "-std=c11 -O2 -DNDEBUG",
  "targets": {
    "wasm32-js": "the JS host (TIDE_HOST_JS): a reactor exporting lib/wasm32-js/exports.txt",
    "wasm32-js-small": "the JS host's size build (TIDE_SIZE): LLVM bitcode, -flto -Oz -mbulk-memory",
    "wasm32-wasi": "WASI preview1 commands (TIDE_MAIN defines main)"
  }
}
EOF
for f in "$dest"/lib/*/libtideloop.a; do
  echo "build-npm-sdk: js/sdk/${f#"$dest"/} ($(wc -c <"$f") bytes)" >&2
done
