# A reader copies ONE example file into a project of their own: install this build into a
# scratch prefix, put EXAMPLE (and nothing else from the repository) into a fresh folder
# with the three-line CMakeLists.txt the example's header shows, configure it with
# find_package(typenet CONFIG REQUIRED), build it, print its summary, then train one small
# epoch on the Fashion-MNIST IDX files (the Debian package scripts/install-deps installs;
# without them the run part reports SKIPPED). No Python, no download.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(project ${WORK_DIR}/project)

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${what} failed (${result}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("install" ${CMAKE_COMMAND} --install ${BINARY_DIR} --prefix ${prefix})
file(MAKE_DIRECTORY ${project})
get_filename_component(name ${EXAMPLE} NAME_WE)
file(COPY ${EXAMPLE} DESTINATION ${project})
file(WRITE ${project}/CMakeLists.txt
     "cmake_minimum_required(VERSION 3.22)\n"
     "project(copied_example LANGUAGES CXX)\n"
     "find_package(typenet CONFIG REQUIRED)\n"
     "add_executable(${name} ${name}.cpp)\n"
     "target_link_libraries(${name} PRIVATE typenet::typenet typenet::opencv)\n")
# Release as a reader would build it, but at -O1 like every test: the check is that the
# file builds and trains on its own, and -O3 on this one file costs CI minutes.
run_step("configure the copied example" ${CMAKE_COMMAND} -S ${project} -B ${WORK_DIR}/build -G ${GENERATOR}
         -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG")
run_step("build the copied example" ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
set(program ${WORK_DIR}/build/${name})

run_step("${name} --summary" ${program} --summary)
string(FIND "${step_output}" "Total params: " found)
if(found EQUAL -1)
  message(FATAL_ERROR "the copied ${name} ran but printed no summary:\n${step_output}")
endif()

if(NOT EXISTS ${FASHION_DIR}/train-images-idx3-ubyte.gz)
  message(STATUS "SKIPPED: the copied ${name} built and printed its summary; no Fashion-MNIST in ${FASHION_DIR} "
                 "(Debian package dataset-fashion-mnist) to train on")
  return()
endif()
run_step("${name}, one small epoch" ${program} --data ${FASHION_DIR} --out ${WORK_DIR}/out --limit 600 --epochs 1
         --batch-size 32 --quiet)
foreach(expected "Epoch 1/1" "Model Performance metrics" "test accuracy: [01]\\.[0-9]+")
  if(NOT step_output MATCHES "${expected}")
    message(FATAL_ERROR "the copied ${name}'s run lacks '${expected}':\n${step_output}")
  endif()
endforeach()
foreach(file fashion_mnist.safetensors history.csv learning_curves.png confusion_matrix.png)
  if(NOT EXISTS ${WORK_DIR}/out/${file})
    message(FATAL_ERROR "the copied ${name} did not write ${file}")
  endif()
endforeach()
message(STATUS "the copied ${name} built against the installed typenet and trained:\n${step_output}")
