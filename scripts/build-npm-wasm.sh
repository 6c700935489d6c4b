#!/usr/bin/env bash
# build-npm-wasm.sh: build the prebuilt modules the npm package ships, into
# js/wasm/, then its C SDK, into js/sdk/ (scripts/build-npm-sdk.sh: tide.h and
# the prebuilt wasm32 libraries tideloop-cc links). js/package.json runs it as
# "prepack", so `npm pack` and `npm publish` in js/ never ship stale or missing
# wasm or SDK.
#
#   scripts/build-npm-wasm.sh
#
# Builds a release (optimised, NDEBUG, names stripped) JS-host tree in
# $TIDE_PACK_BUILD (default build/js-pack) with wasm/toolchain-js.cmake, then
# replaces js/wasm/*.wasm with every module of examples/ built for the JS host
# (fetch.wasm and quickstart.wasm always: the README's quick start and its
# tested examples load quickstart.wasm; lines.wasm and others when
# examples/CMakeLists.txt builds them for this host). Fails, naming what is wrong, if the toolchain is missing,
# the build fails or a module is missing or not wasm: better no package than
# one without its modules.
#
# Needs the repository checkout and clang-14, lld-14, llvm-14, wasi-libc,
# libclang-rt-14-dev-wasm32 and cmake (scripts/ensure-deps.sh installs them).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${TIDE_PACK_BUILD:-$root/build/js-pack}
dest=$root/js/wasm
# Modules the package must have; anything else examples/ builds comes along.
required=(fetch.wasm quickstart.wasm)

die() {
  echo "build-npm-wasm: $*" >&2
  echo "build-npm-wasm: the npm package needs its prebuilt wasm; nothing was packed" >&2
  exit 1
}

command -v cmake >/dev/null 2>&1 || die "cmake is not installed"
# Everything goes to stderr: `npm pack --json` prints its report on stdout.
echo "build-npm-wasm: building the JS-host modules in $build" >&2
log=$build.configure.log
mkdir -p "$(dirname "$build")"
if ! cmake -S "$root" -B "$build" -DCMAKE_TOOLCHAIN_FILE="$root/wasm/toolchain-js.cmake" \
  -DCMAKE_BUILD_TYPE=Release -DTIDE_BUILD_EXAMPLES=ON -DBUILD_TESTING=OFF \
  -DCMAKE_EXE_LINKER_FLAGS=-Wl,--strip-all >"$log" 2>&1; then
  cat "$log" >&2
  die "configuring $build failed (is the wasm toolchain installed? see wasm/toolchain-js.cmake)"
fi
cmake --build "$build" --parallel "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)" >&2 ||
  die "building $build failed"

shopt -s nullglob
modules=("$build"/examples/*.wasm)
for name in "${required[@]}"; do
  [[ -f $build/examples/$name ]] || die "$build/examples/$name was not built"
done

mkdir -p "$dest"
rm -f "$dest"/*.wasm
for m in "${modules[@]}"; do
  # "\0asm": a truncated or empty file would otherwise only fail at load time.
  [[ $(head -c 4 "$m" | od -An -tx1 | tr -d ' \n') == 0061736d ]] || die "$m is not a wasm module"
  cp "$m" "$dest/"
  echo "build-npm-wasm: js/wasm/$(basename "$m") ($(wc -c <"$m") bytes)" >&2
done

# The C SDK (tideloop-cc's header and libraries), from the same checkout.
bash "$root/scripts/build-npm-sdk.sh" || die "building the C SDK (js/sdk) failed"
