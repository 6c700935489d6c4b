# js-module.cmake: tide_add_js_module(<target> <sources>...), included by the
# root CMakeLists.txt when TIDE_BACKEND is js (wasm/toolchain-js.cmake).
#
# Links the sources with tideloop into one wasm32 reactor for the JS host
# (src/backend/js/ABI.md): no main runs by itself; it exports `memory`, `_initialize` and
# every name in src/backend/js/exports.txt, and imports module "tideloop" plus the few
# WASI functions wasi-libc needs. The file is <build dir>/<target>.wasm.

set(TIDE_JS_EXPORTS_FILE "${CMAKE_CURRENT_LIST_DIR}/exports.txt")

function(tide_add_js_module target)
  if(NOT ARGN)
    message(FATAL_ERROR "tide_add_js_module(${target}): no sources")
  endif()
  add_executable(${target} ${ARGN})
  target_link_libraries(${target} PRIVATE tideloop)
  # One --export per line of exports.txt: an explicit list (as tree-sitter's
  # binding_web) keeps the module's surface exactly what ABI.md documents, and
  # pulls src/backend/js/exports.c out of the static library.
  # Found from this file's directory, not from TIDE_JS_EXPORTS_FILE: a project
  # that add_subdirectory()s tideloop calls this from its own directory scope,
  # where that variable is not set (the module would export nothing).
  set(exports_file "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/exports.txt")
  file(STRINGS "${exports_file}" names REGEX "^[A-Za-z_][A-Za-z0-9_]*$")
  # The list is read here, at configure time: a change to it configures again.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${exports_file}")
  if(NOT names)
    message(FATAL_ERROR "tide_add_js_module(${target}): no exports in ${exports_file}")
  endif()
  # wasm-ld exports the memory as "memory" by itself (lld 14 has no
  # --export-memory, and --export=memory is refused: it is not a symbol).
  set(flags -mexec-model=reactor)
  foreach(name IN LISTS names)
    list(APPEND flags "-Wl,--export=${name}")
  endforeach()
  target_link_options(${target} PRIVATE ${flags})
  set_target_properties(${target} PROPERTIES
    SUFFIX ".wasm"
    LINK_DEPENDS "${exports_file}")
  if(TIDE_SIZE)
    tide_size_wasm_opt(${target})
  endif()
endfunction()

# The size build (TIDE_SIZE): wasm-opt -Oz after the link (which runs none: the
# root CMakeLists.txt says why), without wasi-libc's DWARF (with it, wasm-opt
# does less) and with what only the module's maker can promise: the memory is
# the module's own, so zero-filled at start, and the first 1 KiB is unused
# (wasm-ld places data from 1024), as emcc promises too. -g keeps the names
# (W7's split by function needs them); a release strips them with the rest.
function(tide_size_wasm_opt target)
  find_program(TIDE_WASM_OPT wasm-opt)
  if(NOT TIDE_WASM_OPT)
    message(WARNING "TIDE_SIZE: wasm-opt not found (Debian: binaryen): "
                    "${target}.wasm is built without its last size pass")
    return()
  endif()
  add_custom_command(TARGET ${target} POST_BUILD
    COMMAND "${TIDE_WASM_OPT}" -g --strip-dwarf -Oz --enable-bulk-memory --zero-filled-memory
            --low-memory-unused $<TARGET_FILE:${target}> -o $<TARGET_FILE:${target}>
    VERBATIM)
endfunction()
