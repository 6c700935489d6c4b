# wasi-runtimes.cmake: the WASI runtimes besides Node that the WASI build's tests
# also run under (included by tests/c/CMakeLists.txt and examples/CMakeLists.txt
# for a WASI build).
#
# Sets TIDE_WASI_EXTRA_RUNTIMES (names) and TIDE_WASI_RUNTIME_<name> (the
# runtime's executable, run through wasm/run-wasi-runtime.sh), and
# TIDE_WASI_MISSING_RUNTIMES (names looked for and not found, with
# TIDE_WASI_MISSING_<name>, where we looked).
#
# - TIDE_WASI_RUNTIMES (cache or environment): "name=/path/to/runtime;..." says
#   exactly which runtimes to use (empty: none). The name picks the invocation
#   in run-wasi-runtime.sh by the executable's file name.
# - Otherwise iwasm (WAMR) is looked for: $TIDE_IWASM; ../shared/runtimes/iwasm
#   beside this checkout and beside the repository it was cloned from (CI clones
#   to a temporary directory; origin then points at the original checkout);
#   /work/shared/runtimes/iwasm (the development and CI machines); PATH.
#   Missing, its tests are one visible skip that says so.

set(TIDE_WASI_EXTRA_RUNTIMES "")
set(TIDE_WASI_MISSING_RUNTIMES "")

if(NOT DEFINED TIDE_WASI_RUNTIMES AND DEFINED ENV{TIDE_WASI_RUNTIMES})
  set(TIDE_WASI_RUNTIMES "$ENV{TIDE_WASI_RUNTIMES}")
endif()

if(DEFINED TIDE_WASI_RUNTIMES)
  foreach(entry IN LISTS TIDE_WASI_RUNTIMES)
    if(NOT entry MATCHES "^([A-Za-z0-9_-]+)=(.+)$")
      message(FATAL_ERROR "TIDE_WASI_RUNTIMES: '${entry}' is not name=/path/to/runtime")
    endif()
    set(name "${CMAKE_MATCH_1}")
    set(path "${CMAKE_MATCH_2}")
    if(NOT EXISTS "${path}")
      list(APPEND TIDE_WASI_MISSING_RUNTIMES "${name}")
      set(TIDE_WASI_MISSING_${name} "${path} (from TIDE_WASI_RUNTIMES)")
    else()
      list(APPEND TIDE_WASI_EXTRA_RUNTIMES "${name}")
      set(TIDE_WASI_RUNTIME_${name} "${path}")
    endif()
  endforeach()
else()
  set(hints "")
  if(DEFINED ENV{TIDE_IWASM})
    list(APPEND hints "$ENV{TIDE_IWASM}")
  endif()
  get_filename_component(checkout_parent "${PROJECT_SOURCE_DIR}/.." ABSOLUTE)
  list(APPEND hints "${checkout_parent}/shared/runtimes/iwasm")
  find_package(Git QUIET)
  if(GIT_FOUND)
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${PROJECT_SOURCE_DIR}" remote get-url origin
                    OUTPUT_VARIABLE origin OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE git_rc ERROR_QUIET)
    if(git_rc EQUAL 0 AND origin MATCHES "^(file://)?(/.*)$")
      get_filename_component(origin_parent "${CMAKE_MATCH_2}/.." ABSOLUTE)
      list(APPEND hints "${origin_parent}/shared/runtimes/iwasm")
    endif()
  endif()
  list(APPEND hints "/work/shared/runtimes/iwasm")
  set(found "")
  foreach(candidate IN LISTS hints)
    if(EXISTS "${candidate}" AND NOT IS_DIRECTORY "${candidate}")
      set(found "${candidate}")
      break()
    endif()
  endforeach()
  if(NOT found)
    find_program(TIDE_IWASM_ON_PATH NAMES iwasm)
    if(TIDE_IWASM_ON_PATH)
      set(found "${TIDE_IWASM_ON_PATH}")
    endif()
  endif()
  if(found)
    list(APPEND TIDE_WASI_EXTRA_RUNTIMES iwasm)
    set(TIDE_WASI_RUNTIME_iwasm "${found}")
  else()
    list(APPEND TIDE_WASI_MISSING_RUNTIMES iwasm)
    string(REPLACE ";" ", " looked "${hints}")
    set(TIDE_WASI_MISSING_iwasm "${looked}, PATH (set TIDE_IWASM or TIDE_WASI_RUNTIMES)")
  endif()
endif()

# Included by tests/c and examples/: report once per configure.
get_property(reported GLOBAL PROPERTY TIDE_WASI_RUNTIMES_REPORTED)
if(reported)
  return()
endif()
set_property(GLOBAL PROPERTY TIDE_WASI_RUNTIMES_REPORTED TRUE)
foreach(name IN LISTS TIDE_WASI_EXTRA_RUNTIMES)
  message(STATUS "tests: WASI tests also run under ${name}: ${TIDE_WASI_RUNTIME_${name}}")
endforeach()
foreach(name IN LISTS TIDE_WASI_MISSING_RUNTIMES)
  message(STATUS "tests: WASI runtime ${name} not found (looked in ${TIDE_WASI_MISSING_${name}})")
endforeach()
