# check-output.cmake: run a program with stdin from a file and compare its stdout,
# byte for byte, and its exit status with the expected ones. ctest runs it so the
# same check holds natively and under an emulator (the WASI runner).
#
#   cmake -DPROGRAM=prog [-DEMULATOR="node|--no-warnings|run-wasi.mjs"]
#         [-DARGS="a|b"] -DINPUT=in.txt -DEXPECTED=out.txt [-DEXPECTED_EXIT=0]
#         [-DACTUAL=where-to-save-stdout] -P check-output.cmake
#
# EMULATOR and ARGS are lists separated by "|" rather than ";", which add_test
# would split into separate arguments. stderr is passed through to the test log.
foreach(var PROGRAM INPUT EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check-output.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT DEFINED EXPECTED_EXIT)
  set(EXPECTED_EXIT 0)
endif()
string(REPLACE "|" ";" emulator "${EMULATOR}")
string(REPLACE "|" ";" args "${ARGS}")

execute_process(
  COMMAND ${emulator} "${PROGRAM}" ${args}
  INPUT_FILE "${INPUT}"
  OUTPUT_VARIABLE actual
  ERROR_VARIABLE errors
  RESULT_VARIABLE status)
if(NOT errors STREQUAL "")
  message("stderr of ${PROGRAM}:\n${errors}")
endif()

file(READ "${EXPECTED}" expected)
set(failed OFF)
if(NOT actual STREQUAL expected)
  set(failed ON)
  if(DEFINED ACTUAL)
    file(WRITE "${ACTUAL}" "${actual}")
    find_program(DIFF diff)
  endif()
  if(DEFINED ACTUAL AND DIFF)
    execute_process(COMMAND "${DIFF}" -u "${EXPECTED}" "${ACTUAL}")
  else()
    message("expected stdout:\n${expected}\nactual stdout:\n${actual}")
  endif()
  message(SEND_ERROR "stdout differs from ${EXPECTED}")
endif()
if(NOT status STREQUAL EXPECTED_EXIT)
  set(failed ON)
  message(SEND_ERROR "exit status ${status}, expected ${EXPECTED_EXIT}")
endif()
if(NOT failed)
  message("stdout matches ${EXPECTED}, exit status ${status}")
endif()
