# check-readme-example.cmake: fail if the C example in README.md (the first
# ```c block) differs from examples/hello.c from its first #include on.
#   cmake -DREADME=README.md -DEXAMPLE=examples/hello.c -P check-readme-example.cmake
file(READ "${README}" readme)
file(READ "${EXAMPLE}" example)
string(FIND "${readme}" "```c\n" start)
if(start EQUAL -1)
  message(FATAL_ERROR "${README}: no ```c block")
endif()
math(EXPR start "${start} + 5")
string(SUBSTRING "${readme}" ${start} -1 block)
string(FIND "${block}" "```" end)
string(SUBSTRING "${block}" 0 ${end} block)
string(FIND "${example}" "#include" body)
string(SUBSTRING "${example}" ${body} -1 example)
if(NOT block STREQUAL example)
  message(FATAL_ERROR "the C example in ${README} differs from ${EXAMPLE}: "
                      "copy examples/hello.c (from its first #include) into it")
endif()
