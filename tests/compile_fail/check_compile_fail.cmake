# Builds one compile-fail target and checks that it fails for the stated reason:
# the build fails, the diagnostic contains EXPECT, and it is the only error (no cascade).
# Usage: cmake -DBINARY_DIR=... -DTARGET=... -DEXPECT=... -P check_compile_fail.cmake
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BINARY_DIR} --target ${TARGET}
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(log "${out}${err}")
if(result EQUAL 0)
  message(FATAL_ERROR "${TARGET}: compiled, but it breaks a rule and must not")
endif()
string(FIND "${log}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "${TARGET}: failed, but the diagnostic does not say '${EXPECT}':\n${log}")
endif()
string(REGEX MATCHALL "error: " errors "${log}")
list(LENGTH errors count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "${TARGET}: expected exactly one error, got ${count} (a cascade):\n${log}")
endif()
message(STATUS "${TARGET}: fails with: ${EXPECT}")
