# `cmake --install` layout and the exported package (find_package(Coord)):
#   bin/      coordd, coordctl
#   include/  coord/... public headers; coord/{server,consensus}/gen/*.pb.h
#   lib/      static libraries; lib/cmake/Coord/ the package files
# Exported targets: Coord::client, Coord::server, Coord::consensus, Coord::common,
# plus the internal libraries they link (Coord::proto, Coord::state, Coord::raft_*).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(coord_exported)
foreach(pair
    coord_common:common coord_raft_proto:raft_proto coord_raft_core:raft_core
    coord_raft_storage:raft_storage coord_raft_transport:raft_transport
    coord_raft_node:raft_node coord_consensus:consensus coord_proto:proto
    coord_state:state coord_server:server coord_client:client)
  string(REPLACE ":" ";" parts ${pair})
  list(GET parts 0 target)
  list(GET parts 1 export_name)
  if(TARGET ${target})
    set_target_properties(${target} PROPERTIES EXPORT_NAME ${export_name})
    list(APPEND coord_exported ${target})
  endif()
endforeach()

install(TARGETS ${coord_exported} EXPORT CoordTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
foreach(program coordd coordctl)
  if(TARGET ${program})
    install(TARGETS ${program} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

foreach(dir common/include consensus/include coord/include client/include)
  if(EXISTS ${PROJECT_SOURCE_DIR}/${dir})
    install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  endif()
endforeach()
# Generated protobuf headers, where the INSTALL_INTERFACE include dirs of
# coord_proto and coord_raft_proto point. protobuf_generate puts them in gen/ or
# gen/proto/ depending on the CMake version; both are searched.
foreach(part coord:server consensus:consensus)
  string(REPLACE ":" ";" parts ${part})
  list(GET parts 0 src)
  list(GET parts 1 dest)
  foreach(sub "" "proto/")
    install(DIRECTORY ${PROJECT_BINARY_DIR}/${src}/gen/${sub}
      DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/coord/${dest}/gen OPTIONAL
      FILES_MATCHING PATTERN "*.pb.h" PATTERN "proto" EXCLUDE PATTERN "CMakeFiles" EXCLUDE)
  endforeach()
endforeach()

install(EXPORT CoordTargets NAMESPACE Coord::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Coord)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/CoordConfig.cmake.in
  ${PROJECT_BINARY_DIR}/CoordConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Coord)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/CoordConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/CoordConfig.cmake ${PROJECT_BINARY_DIR}/CoordConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/Coord)
