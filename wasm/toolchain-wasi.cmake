# CMake toolchain file: build tideloop for wasm32-wasi with clang and Debian's
# wasi-libc (apt-get install wasi-libc libclang-rt-14-dev-wasm32).
#   cmake -S . -B build-wasi -DCMAKE_TOOLCHAIN_FILE=wasm/toolchain-wasi.cmake
# ctest then runs every test under Node's WASI through wasm/run-wasi.mjs, and
# under each other preview1 runtime found (tests/c/CMakeLists.txt,
# wasm/wasi-runtimes.cmake; run through wasm/run-wasi-runtime.sh).
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

find_program(TIDE_NODE NAMES node REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR "${TIDE_NODE};--no-warnings;${CMAKE_CURRENT_LIST_DIR}/run-wasi.mjs")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
