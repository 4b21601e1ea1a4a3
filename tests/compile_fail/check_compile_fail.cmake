# Builds one compile-fail target and checks that it fails for the stated reason:
# the build fails with exactly one error (no cascade), and that error says EXPECT. It runs
# under whichever compiler builds the tree (COMPILER names it in the messages).
# Usage: cmake -DBINARY_DIR=... -DTARGET=... -DEXPECT=... -DCOMPILER=... [-DMENTIONS=...] -P check_compile_fail.cmake
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --target ${TARGET}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(log "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "${TARGET}: compiled, but it breaks a rule and must not")
endif()
# GCC and clang both start each error with "error: " on one line, the message included.
# ';' would split the CMake list of matches, so it is compared as ','.
string(REPLACE ";" "," log "${log}")
string(REPLACE ";" "," EXPECT "${EXPECT}")
string(REGEX MATCHALL "[^\n]*error: [^\n]*" errors "${log}")
list(LENGTH errors count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "${TARGET} (${COMPILER}): expected exactly one error, got ${count} (a cascade):\n${log}")
endif()
string(FIND "${errors}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TARGET} (${COMPILER}): its one error does not say '${EXPECT}':\n${log}")
endif()
# MENTIONS (optional): text the diagnostics must also show, in the error or its notes
# (a block's name, which its instantiation notes carry).
if(DEFINED MENTIONS AND NOT MENTIONS STREQUAL "")
  string(FIND "${log}" "${MENTIONS}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${TARGET} (${COMPILER}): its diagnostics do not mention '${MENTIONS}':\n${log}")
  endif()
endif()
message(STATUS "${TARGET} (${COMPILER}): one error, saying: ${EXPECT}")
