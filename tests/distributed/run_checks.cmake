# Runs mpi_train under mpirun for one check (cmake -DCHECK=... -P run_checks.cmake):
#   parity     every one of 100 steps: 2 ranks from the one-process run's weights reach its
#              next weights within 1e-4 relative (--stepwise); two 2-rank runs write
#              identical files
#   free_run_parity  100 free steps with fixed-order gradient sums (--reduction-chunk 16): 1 rank
#              and 2 ranks (and 4) end within 1e-4 relative (in fact bit for bit), and two
#              2-rank runs write identical files; 3 ranks are refused (not a power of two)
#   batchnorm  the same stepwise check for a CNN with BatchNormalization (statistics summed
#              over the ranks)
#   kill       rank 1 is SIGKILLed mid-training: mpirun must end (non-zero), not hang
#   bad_input  rank 1 reads a corrupt file mid-training: every rank stops, naming it
# Every launch has a bounded time (TIMEOUT), so a hang fails the test instead of CI.
string(REPLACE "|" ";" PREFLAGS "${PREFLAGS}")
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

function(launch ranks out result output)
  execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} ${ranks} ${PREFLAGS} ${PROGRAM} --out ${out} ${ARGN}
                  TIMEOUT 240 RESULT_VARIABLE code OUTPUT_VARIABLE text ERROR_VARIABLE text)
  message("mpirun -np ${ranks} ${ARGN}: exit ${code}\n${text}")
  if(code STREQUAL "77")
    message("TYPENET-SKIP: Fashion-MNIST not installed")
    return()
  endif()
  set(${result} "${code}" PARENT_SCOPE)
  set(${output} "${text}" PARENT_SCOPE)
endfunction()

# mpi_train --compare of two weight files (within 1e-4 relative), printed; `failure` if not.
function(compare_weights what a b failure)
  execute_process(COMMAND ${PROGRAM} --compare ${a} ${b} RESULT_VARIABLE code OUTPUT_VARIABLE text ERROR_VARIABLE text)
  message("${what}:\n${text}")
  if(NOT code STREQUAL "0")
    message(FATAL_ERROR "${failure}")
  endif()
endfunction()

if(CHECK STREQUAL "parity")
  execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 2 ${PREFLAGS} ${PROGRAM} --stepwise --threads 1
                  TIMEOUT 240 RESULT_VARIABLE code OUTPUT_VARIABLE text ERROR_VARIABLE text)
  message("mpirun -np 2 --stepwise: exit ${code}\n${text}")
  if(code STREQUAL "77")
    message("TYPENET-SKIP: Fashion-MNIST not installed")
    return()
  endif()
  if(NOT code STREQUAL "0")
    message(FATAL_ERROR "a 2-rank step did not give the one-process step's weights (beyond 1e-4 relative)")
  endif()
  foreach(run a b)
    launch(2 ${WORK}/two_${run}.safetensors code text --threads 1)
    if(NOT code STREQUAL "0")
      message(FATAL_ERROR "the 2-rank run ${run} failed")
    endif()
  endforeach()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/two_a.safetensors ${WORK}/two_b.safetensors
                  RESULT_VARIABLE code)
  if(NOT code STREQUAL "0")
    message(FATAL_ERROR "two 2-rank runs with the same seed wrote different files")
  endif()
  # Free runs with the ordinary sums are not compared: one ReLU that rounding switches the
  # other way can leave small biases ~1e-3 apart (docs/distributed.md); free_run_parity does that.
  message("parity: every 2-rank step is the one-process step within 1e-4, and two 2-rank runs are identical")
elseif(CHECK STREQUAL "free_run_parity")
  # The same thread count in every process: the kernels' own sums depend on it.
  launch(1 ${WORK}/one.safetensors code text --threads 1 --reduction-chunk 16)
  if(NOT code STREQUAL "0")
    message(FATAL_ERROR "the 1-rank run with --reduction-chunk 16 failed")
  endif()
  foreach(run a b)
    launch(2 ${WORK}/two_${run}.safetensors code text --threads 1 --reduction-chunk 16)
    if(NOT code STREQUAL "0")
      message(FATAL_ERROR "the 2-rank run ${run} with --reduction-chunk 16 failed")
    endif()
  endforeach()
  compare_weights("1 rank against 2 ranks after 100 free steps" ${WORK}/one.safetensors ${WORK}/two_a.safetensors
                  "after 100 free steps with fixed-order sums, 2 ranks are not the 1-rank model within 1e-4")
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/one.safetensors ${WORK}/two_a.safetensors
                  RESULT_VARIABLE code)
  if(code STREQUAL "0")
    message("free_run_parity: 1 rank and 2 ranks wrote identical files")
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK}/two_a.safetensors ${WORK}/two_b.safetensors
                  RESULT_VARIABLE code)
  if(NOT code STREQUAL "0")
    message(FATAL_ERROR "two 2-rank runs with fixed-order sums wrote different files")
  endif()
  # 4 ranks: two levels of pairwise sums, and rank 0's slice of the 3 chunks is empty.
  launch(4 ${WORK}/four.safetensors code text --threads 1 --reduction-chunk 16)
  compare_weights("1 rank against 4 ranks" ${WORK}/one.safetensors ${WORK}/four.safetensors
                  "after 100 free steps with fixed-order sums, 4 ranks are not the 1-rank model within 1e-4")
  # 3 ranks cannot split the halving tree: every rank refuses before training, no hang.
  launch(3 ${WORK}/three.safetensors code text --threads 1 --reduction-chunk 16)
  if(code STREQUAL "0" OR code MATCHES "timeout" OR NOT text MATCHES "power-of-two number of ranks, not 3")
    message(FATAL_ERROR "3 ranks with --reduction-chunk were not refused with a clear error (exit '${code}')")
  endif()
  message("free_run_parity: after 100 free steps 2 ranks are the 1-rank model within 1e-4, and two 2-rank runs are identical")
elseif(CHECK STREQUAL "batchnorm")
  execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 2 ${PREFLAGS} ${PROGRAM} --stepwise --model bn --threads 1
                  TIMEOUT 240 RESULT_VARIABLE code OUTPUT_VARIABLE text ERROR_VARIABLE text)
  message("mpirun -np 2 --stepwise --model bn: exit ${code}\n${text}")
  if(code STREQUAL "77")
    message("TYPENET-SKIP: Fashion-MNIST not installed")
    return()
  endif()
  if(NOT code STREQUAL "0")
    message(FATAL_ERROR "with BatchNormalization, a 2-rank step did not give the one-process step (beyond 1e-4)")
  endif()
  message("batchnorm: every 2-rank step is the one-process step within 1e-4")
elseif(CHECK STREQUAL "kill")
  string(TIMESTAMP start "%s")
  launch(2 ${WORK}/killed.safetensors code text --kill-rank 1)
  string(TIMESTAMP stop "%s")
  math(EXPR seconds "${stop} - ${start}")
  if(code STREQUAL "0" OR code MATCHES "timeout|Process terminated due to timeout")
    message(FATAL_ERROR "a killed rank did not stop the run (exit '${code}' after ${seconds}s)")
  endif()
  if(NOT text MATCHES "signal 9|Killed|killed")
    message(FATAL_ERROR "mpirun did not say that a rank was killed")
  endif()
  if(EXISTS ${WORK}/killed.safetensors)
    message(FATAL_ERROR "a killed run left a weights file")
  endif()
  message("kill: the run stopped in ${seconds}s with exit ${code}")
elseif(CHECK STREQUAL "bad_input")
  file(WRITE ${WORK}/corrupt-idx3-ubyte "this is not an IDX file")
  launch(2 ${WORK}/bad.safetensors code text --bad-input ${WORK}/corrupt-idx3-ubyte)
  if(code STREQUAL "0" OR code MATCHES "timeout")
    message(FATAL_ERROR "a rank's bad input did not stop the run (exit '${code}')")
  endif()
  # Both ranks report rank 1's error, naming the file (their lines may interleave).
  string(REGEX MATCHALL "rank 1: [^\n]*corrupt-idx3-ubyte: magic number" named "${text}")
  list(LENGTH named count)
  if(count LESS 2)
    message(FATAL_ERROR "not every rank stopped with the bad file named (${count} of 2)")
  endif()
  if(EXISTS ${WORK}/bad.safetensors)
    message(FATAL_ERROR "a failed run left a weights file")
  endif()
  message("bad_input: both ranks stopped naming the file")
else()
  message(FATAL_ERROR "unknown CHECK '${CHECK}'")
endif()
