# CMake toolchain file: build tideloop for the JS host (browser, Node): wasm32
# with clang + wasi-libc, the JS bridge (src/backend/js: imports.c, exports.c),
# and modules linked as reactors with tide_add_js_module() (src/backend/js/ABI.md).
#   cmake -S . -B build-js -DCMAKE_TOOLCHAIN_FILE=wasm/toolchain-js.cmake
# Needs clang-14, lld-14, llvm-14, wasi-libc, libclang-rt-14-dev-wasm32.
# The JS host drives the loop, so most of its tests are the package's node
# --test suites, which load the modules of tests/modules
# (<build>/tests/modules/tide-test-module.wasm and its siblings); ctest runs the
# portable C suite too (tests/c: tide-tests.wasm under js/bin/tideloop-run.mjs)
# and the examples.
set(CMAKE_SYSTEM_NAME WASI)
set(CMAKE_SYSTEM_VERSION 1)
set(CMAKE_SYSTEM_PROCESSOR wasm32)
# Platform/WASI.cmake (next to this file) gives executables the .wasm suffix.
list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}/cmake")

find_program(TIDE_WASI_CLANG NAMES clang-14 clang REQUIRED)
set(CMAKE_C_COMPILER "${TIDE_WASI_CLANG}")
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
find_program(CMAKE_AR NAMES llvm-ar-14 llvm-ar REQUIRED)
find_program(CMAKE_RANLIB NAMES llvm-ranlib-14 llvm-ranlib REQUIRED)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(TIDE_BACKEND js CACHE STRING "Backend linked into tideloop")
# Examples: examples/CMakeLists.txt builds only those written with TIDE_MAIN, as
# modules (<build>/examples/<name>.wasm); the others have a plain main().

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
