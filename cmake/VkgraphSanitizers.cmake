# Sanitizer and fuzzing builds (docs/reliability.md).
#
#   -DVKGRAPH_SANITIZE=address,undefined   ASan + UBSan over every project target
#   -DVKGRAPH_SANITIZE=thread              TSan (run the concurrency tests with it)
#   -DVKGRAPH_FUZZ=ON                      libFuzzer targets in fuzz/ (clang only); the project
#                                          code is built with fuzzer coverage plus ASan + UBSan
#
# Included after the shader embedding tool is declared: that host tool only copies bytes and
# needs no instrumentation. UBSan findings stop the program (-fno-sanitize-recover) so ctest
# sees them as failures rather than log lines.

set(VKGRAPH_SANITIZE "" CACHE STRING "Sanitizers for every target: address,undefined or thread (empty: none)")
option(VKGRAPH_FUZZ "Build the libFuzzer targets in fuzz/ (needs clang)" OFF)

set(_vkgraph_sanitize "${VKGRAPH_SANITIZE}")
if(VKGRAPH_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VKGRAPH_FUZZ=ON needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++-14; "
                        "the compiler is ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER}")
  endif()
  if(_vkgraph_sanitize STREQUAL "")
    set(_vkgraph_sanitize "address,undefined")
  endif()
endif()

if(NOT _vkgraph_sanitize STREQUAL "")
  if(MSVC)
    message(FATAL_ERROR "VKGRAPH_SANITIZE is supported with GCC and Clang only")
  endif()
  if(_vkgraph_sanitize MATCHES "thread" AND _vkgraph_sanitize MATCHES "address")
    message(FATAL_ERROR "VKGRAPH_SANITIZE=${_vkgraph_sanitize}: ThreadSanitizer cannot be combined with AddressSanitizer")
  endif()
  # C++ only: nvcc (the CUDA backend) takes no such flags; its host code is not instrumented.
  foreach(flag -fsanitize=${_vkgraph_sanitize} -fno-omit-frame-pointer -fno-sanitize-recover=all)
    add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:${flag}>")
  endforeach()
  add_link_options(-fsanitize=${_vkgraph_sanitize})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND _vkgraph_sanitize MATCHES "address")
    # Clang links its sanitizer runtime statically into executables only, so libvkgraph.so
    # (linked with --no-undefined) would miss it: that library alone uses the shared runtime,
    # found through an rpath (GCC does this by default). Executables keep the static runtime,
    # which libFuzzer needs to come first. Applied once cmake/VkgraphInstall.cmake made the target.
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=libclang_rt.asan-${CMAKE_SYSTEM_PROCESSOR}.so
      OUTPUT_VARIABLE _asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
    get_filename_component(VKGRAPH_ASAN_RUNTIME_DIR "${_asan_runtime}" DIRECTORY)
    function(_vkgraph_shared_asan_runtime)
      if(TARGET vkgraph_shared)
        target_link_options(vkgraph_shared PRIVATE -shared-libsan "LINKER:-rpath,${VKGRAPH_ASAN_RUNTIME_DIR}")
      endif()
    endfunction()
    cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _vkgraph_shared_asan_runtime)
  endif()
  message(STATUS "vkgraph: sanitizers: ${_vkgraph_sanitize}")
endif()

if(VKGRAPH_FUZZ)
  # Coverage instrumentation for the libraries; only the fuzz executables link libFuzzer's main.
  add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:-fsanitize=fuzzer-no-link>")
endif()
