# The CUDA backend (engine/backend/cuda): VKGRAPH_CUDA=ON|OFF|AUTO (default AUTO: built when a
# CUDA toolkit is found). Defines vkgraph_attach_cuda(<engine target>), which adds either the
# backend (an object library of kernels and host code) or its stub to the engine library.
#
# The CUDA runtime is linked statically (cudart_static): it loads the driver (libcuda.so.1) only
# when first used, so a binary built here starts on any machine and, without an NVIDIA driver,
# simply reports that CUDA is unavailable.
set(VKGRAPH_CUDA AUTO CACHE STRING "Build the CUDA backend: ON, OFF or AUTO (when a CUDA toolkit is found)")
set_property(CACHE VKGRAPH_CUDA PROPERTY STRINGS ON OFF AUTO)

# Architectures: SASS for every architecture from Volta (sm_70) to Hopper (sm_90) that the nvcc
# in use can still target, plus PTX of the newest of them so later GPUs (Blackwell: sm_100,
# sm_120) JIT-compile it. CUDA 13 dropped sm_70 and sm_72 (its oldest target is sm_75, Turing),
# so with CUDA 13 the list starts at sm_75. Override with -DCMAKE_CUDA_ARCHITECTURES=...
set(vkgraph_cuda_wanted_archs 70 72 75 80 86 87 88 89 90)

set(vkgraph_cuda_enabled OFF)
if(VKGRAPH_CUDA STREQUAL "AUTO" AND VKGRAPH_FUZZ)
  message(STATUS "vkgraph: the CUDA backend is not built in fuzzing builds (VKGRAPH_FUZZ=ON)")
elseif(NOT VKGRAPH_CUDA STREQUAL "OFF")
  # nvcc is usually not on PATH: look in the toolkit's standard place too.
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc CACHE FILEPATH "CUDA compiler")
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    set(vkgraph_cuda_enabled ON)
  elseif(VKGRAPH_CUDA STREQUAL "ON")
    message(FATAL_ERROR "VKGRAPH_CUDA=ON but no CUDA compiler was found: pass -DCMAKE_CUDA_COMPILER=/path/to/nvcc")
  else()
    message(STATUS "vkgraph: no CUDA toolkit found: the CUDA backend is not built (VKGRAPH_CUDA=AUTO)")
  endif()
endif()

if(vkgraph_cuda_enabled)
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
    execute_process(COMMAND "${CMAKE_CUDA_COMPILER}" --list-gpu-code
                    OUTPUT_VARIABLE vkgraph_nvcc_codes ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(vkgraph_cuda_archs "")
    foreach(arch IN LISTS vkgraph_cuda_wanted_archs)
      if(vkgraph_nvcc_codes MATCHES "sm_${arch}( |\n|$)")
        list(APPEND vkgraph_cuda_archs ${arch}-real)
        set(vkgraph_cuda_newest ${arch})
      endif()
    endforeach()
    if(NOT vkgraph_cuda_archs)
      message(FATAL_ERROR "nvcc ${CMAKE_CUDA_COMPILER} targets none of sm_70..sm_90 (it lists: ${vkgraph_nvcc_codes})")
    endif()
    list(APPEND vkgraph_cuda_archs ${vkgraph_cuda_newest}-virtual)
    set(CMAKE_CUDA_ARCHITECTURES ${vkgraph_cuda_archs} CACHE STRING "CUDA architectures of the CUDA backend")
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  message(STATUS "vkgraph: CUDA backend with nvcc ${CMAKE_CUDA_COMPILER_VERSION}, architectures ${CMAKE_CUDA_ARCHITECTURES}")
endif()

function(vkgraph_attach_cuda engine)
  set(dir "${CMAKE_SOURCE_DIR}/engine/backend/cuda")
  if(NOT vkgraph_cuda_enabled)
    # The stub's probe says CUDA is not built; the registry lists that through cuda_records.cpp.
    target_sources(${engine} PRIVATE "${dir}/cuda_stub.cpp" "${dir}/cuda_records.cpp")
    return()
  endif()
  # Kernels: a few .cu files compiled in parallel; host code: plain C++ against the runtime API.
  file(GLOB cuda_kernels CONFIGURE_DEPENDS "${dir}/*.cu")
  file(GLOB cuda_host CONFIGURE_DEPENDS "${dir}/*.cpp")
  list(FILTER cuda_host EXCLUDE REGEX "/cuda_stub\\.cpp$")

  add_library(vkgraph_cuda_kernels OBJECT ${cuda_kernels})
  # Directory-wide options are host compiler flags (sanitizers: VkgraphSanitizers.cmake) that nvcc
  # does not take; the kernels get only their own. Host code below keeps them.
  set_property(TARGET vkgraph_cuda_kernels PROPERTY COMPILE_OPTIONS "")
  target_include_directories(vkgraph_cuda_kernels PRIVATE "${CMAKE_SOURCE_DIR}")
  # C++17: CMake 3.25 knows no C++20 dialect flag for nvcc (and would take CXX_STANDARD 20).
  set_target_properties(vkgraph_cuda_kernels PROPERTIES CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON)
  target_compile_options(vkgraph_cuda_kernels PRIVATE
    $<$<BOOL:${VKGRAPH_WERROR}>:--Werror=all-warnings> -Xcompiler=-Wall,-Wextra)

  add_library(vkgraph_cuda_host OBJECT ${cuda_host})
  target_include_directories(vkgraph_cuda_host PRIVATE "${CMAKE_SOURCE_DIR}")
  target_link_libraries(vkgraph_cuda_host PRIVATE CUDA::cudart_static fmt::fmt vkgraph_warnings)

  # Objects become part of the engine library; the runtime (and its -ldl -lrt -lpthread) is a
  # link dependency of everything that links the engine.
  target_link_libraries(${engine} PRIVATE vkgraph_cuda_kernels vkgraph_cuda_host)
  target_link_libraries(${engine} PUBLIC CUDA::cudart_static ${CMAKE_DL_LIBS})
endfunction()
