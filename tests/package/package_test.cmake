# The package test (ctest coord_package_test): installs the build tree into a
# fresh prefix, configures and builds tests/package/consumer against it with
# find_package(Coord), and runs the result (a member and a client in one process
# taking a lock). Inputs: -DBUILD_DIR -DSOURCE_DIR -DWORK_DIR -DGENERATOR.
file(REMOVE_RECURSE ${WORK_DIR})
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
foreach(f lib/cmake/Coord/CoordConfig.cmake include/coord/client/lock.h
          include/coord/server/server.h bin/coordd)
  if(NOT EXISTS ${WORK_DIR}/prefix/${f})
    message(FATAL_ERROR "the install lacks ${f}")
  endif()
endforeach()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/build
    -G ${GENERATOR} -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix
    -DCOORD_EXAMPLE_SOURCE=${SOURCE_DIR}/examples/embedded/main.cc)
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer --data-dir ${WORK_DIR}/data)
string(FIND "${last_output}" "locked /embedded/lock with token" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the consumer did not take the lock:\n${last_output}")
endif()
message(STATUS "consumer output:\n${last_output}")
file(REMOVE_RECURSE ${WORK_DIR})
