# The shared C library (libvkgraph.so, target vkgraph_shared: the name `vkgraph` is the CLI)
# and `cmake --install`: library, headers, CMake package, pkg-config file, the CLI and the
# bundled default model.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The library is the static libraries linked whole into one shared object; a version script
# keeps every symbol but the C API's `vkgraph_*` local.
set(vkgraph_shared_stub "${CMAKE_BINARY_DIR}/vkgraph_shared_stub.cpp")
file(CONFIGURE OUTPUT "${vkgraph_shared_stub}" CONTENT "// The C API lives in models/api; this file only gives the target a source.\n")
add_library(vkgraph_shared SHARED "${vkgraph_shared_stub}")
set_target_properties(vkgraph_shared PROPERTIES
  OUTPUT_NAME vkgraph
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR}
  CXX_VISIBILITY_PRESET hidden
  LINK_DEPENDS "${CMAKE_SOURCE_DIR}/cmake/vkgraph.map")
target_link_libraries(vkgraph_shared PRIVATE "$<LINK_LIBRARY:WHOLE_ARCHIVE,vkgraph_models>" vkgraph_engine ${CMAKE_DL_LIBS})
target_link_options(vkgraph_shared PRIVATE
  "LINKER:--version-script=${CMAKE_SOURCE_DIR}/cmake/vkgraph.map" "LINKER:--no-undefined")
target_include_directories(vkgraph_shared INTERFACE
  "$<BUILD_INTERFACE:${CMAKE_SOURCE_DIR}/include>" "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
set_target_properties(vkgraph_shared PROPERTIES EXPORT_NAME vkgraph)
add_library(vkgraph::vkgraph ALIAS vkgraph_shared)

install(TARGETS vkgraph_shared EXPORT vkgraphTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES "${CMAKE_SOURCE_DIR}/include/vkgraph.h" "${CMAKE_SOURCE_DIR}/include/vkgraph.hpp"
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS vkgraph RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Found by models/bundled/default_model.cpp (beside bin/) and models/api/model.cpp (beside lib/).
install(FILES "${CMAKE_SOURCE_DIR}/models/bundled/stories260K.gguf" DESTINATION ${CMAKE_INSTALL_DATADIR}/vkgraph)

set(vkgraph_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/vkgraph)
install(EXPORT vkgraphTargets NAMESPACE vkgraph:: DESTINATION ${vkgraph_cmake_dir})
configure_package_config_file("${CMAKE_SOURCE_DIR}/cmake/package/vkgraphConfig.cmake.in"
  "${CMAKE_BINARY_DIR}/package/vkgraphConfig.cmake" INSTALL_DESTINATION ${vkgraph_cmake_dir})
write_basic_package_version_file("${CMAKE_BINARY_DIR}/package/vkgraphConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/package/vkgraphConfig.cmake" "${CMAKE_BINARY_DIR}/package/vkgraphConfigVersion.cmake"
  DESTINATION ${vkgraph_cmake_dir})
# The prefix is substituted at install time so `cmake --install --prefix P` gets P.
install(CODE "
  set(CMAKE_INSTALL_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(CMAKE_INSTALL_LIBDIR \"${CMAKE_INSTALL_LIBDIR}\")
  set(CMAKE_INSTALL_INCLUDEDIR \"${CMAKE_INSTALL_INCLUDEDIR}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  configure_file(\"${CMAKE_SOURCE_DIR}/cmake/package/vkgraph.pc.in\" \"${CMAKE_BINARY_DIR}/package/vkgraph.pc\" @ONLY)
  file(INSTALL \"${CMAKE_BINARY_DIR}/package/vkgraph.pc\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
")
