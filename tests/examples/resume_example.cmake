# --resume end to end: a program run for EPOCHS epochs into OUT/whole, and the same program
# run for 1 epoch into OUT/resumed, then again for EPOCHS epochs with --resume, must leave
# byte-identical FILES (the second run continues from <model>.training_state).
#   -DCOMMAND=prog@@arg@@...   the program and its flags, without --out and --epochs
#   -DOUT=dir -DEPOCHS=n -DFILES=name@@name   files compared, relative to each --out
cmake_minimum_required(VERSION 3.22)
string(REPLACE "@@" ";" command "${COMMAND}")
string(REPLACE "@@" ";" files "${FILES}")
file(REMOVE_RECURSE ${OUT})

function(run)
  execute_process(COMMAND ${command} ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message("$ ${command} ${ARGN}\n${out}${err}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "exit status ${rc}")
  endif()
  set(last_output "${out}${err}" PARENT_SCOPE)
endfunction()

run(--out ${OUT}/whole --epochs ${EPOCHS})
run(--out ${OUT}/resumed --epochs 1)
run(--out ${OUT}/resumed --epochs ${EPOCHS} --resume)
if(NOT last_output MATCHES "Resumed from [^\n]*training_state: 1 of ${EPOCHS} epochs done")
  message(FATAL_ERROR "the --resume run did not say it resumed after epoch 1")
endif()
foreach(name ${files})
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/whole/${name} ${OUT}/resumed/${name} RESULT_VARIABLE differ)
  if(differ)
    message(FATAL_ERROR "${name} differs between the uninterrupted and the resumed run")
  endif()
endforeach()
message("resumed run: ${files} byte-identical to the uninterrupted run's")
