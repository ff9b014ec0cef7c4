# Finds the shader toolchain and Vulkan headers, preferring the project-local prefixes that
# scripts/setup.sh fills in `.deps/` when the system's are too old.
#
# Why: Debian 12 ships glslang 12, which cannot compile GL_KHR_cooperative_matrix, and Vulkan
# headers 1.3.239, which predate VK_KHR_cooperative_matrix (added in 1.3.255).

set(VKGRAPH_DEPS_DIR "${CMAKE_SOURCE_DIR}/.deps" CACHE PATH "Project-local prefix of set-up dependencies")

# --- Vulkan headers -------------------------------------------------------------------------
if(EXISTS "${VKGRAPH_DEPS_DIR}/vulkan-headers/include/vulkan/vulkan_core.h" AND NOT Vulkan_INCLUDE_DIR)
  set(Vulkan_INCLUDE_DIR "${VKGRAPH_DEPS_DIR}/vulkan-headers/include" CACHE PATH "" FORCE)
endif()

# --- glslang --------------------------------------------------------------------------------
find_program(VKGRAPH_GLSLANG NAMES glslangValidator glslang
  HINTS "${VKGRAPH_DEPS_DIR}/glslang/bin" NO_CACHE)
find_program(VKGRAPH_GLSLANG NAMES glslangValidator glslang REQUIRED)

option(VKGRAPH_COOPMAT_SHADERS "Compile the cooperative-matrix shader variants" ON)

set(_probe_dir "${CMAKE_BINARY_DIR}/toolchain-probe")
file(MAKE_DIRECTORY "${_probe_dir}")
file(WRITE "${_probe_dir}/coopmat.comp" [=[
#version 450
#extension GL_KHR_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(set = 0, binding = 0) buffer B { float16_t data[]; };
void main() {
  coopmat<float16_t, gl_ScopeSubgroup, 16, 16, gl_MatrixUseA> a;
  coopMatLoad(a, data, 0, 16, gl_CooperativeMatrixLayoutRowMajor);
  coopMatStore(a, data, 256, 16, gl_CooperativeMatrixLayoutRowMajor);
}
]=])
execute_process(
  COMMAND "${VKGRAPH_GLSLANG}" -V --target-env vulkan1.3 -o "${_probe_dir}/coopmat.spv" "${_probe_dir}/coopmat.comp"
  RESULT_VARIABLE _glslang_coopmat_rc OUTPUT_VARIABLE _out ERROR_VARIABLE _out)
if(NOT _glslang_coopmat_rc EQUAL 0)
  if(VKGRAPH_COOPMAT_SHADERS)
    message(FATAL_ERROR
      "${VKGRAPH_GLSLANG} cannot compile GL_KHR_cooperative_matrix shaders (glslang 14 or newer is "
      "needed). Run scripts/setup.sh, which builds a newer glslang into .deps/, or configure with "
      "-DVKGRAPH_COOPMAT_SHADERS=OFF to build without the cooperative-matrix variants.\n${_out}")
  endif()
endif()
message(STATUS "vkgraph: glslang: ${VKGRAPH_GLSLANG} (cooperative matrix: ${VKGRAPH_COOPMAT_SHADERS})")

# --- spirv-val ------------------------------------------------------------------------------
# Every built variant is validated. A spirv-val that predates a capability cannot judge the
# shaders using it; those are then checked by glslang alone and configure says so.
find_program(VKGRAPH_SPIRV_VAL NAMES spirv-val HINTS "${VKGRAPH_DEPS_DIR}/spirv-tools/bin" NO_CACHE)
set(VKGRAPH_SPIRV_VAL_COOPMAT OFF)
if(VKGRAPH_SPIRV_VAL AND _glslang_coopmat_rc EQUAL 0)
  execute_process(COMMAND "${VKGRAPH_SPIRV_VAL}" --target-env vulkan1.3 "${_probe_dir}/coopmat.spv"
    RESULT_VARIABLE _val_rc OUTPUT_QUIET ERROR_QUIET)
  if(_val_rc EQUAL 0)
    set(VKGRAPH_SPIRV_VAL_COOPMAT ON)
  endif()
endif()
if(VKGRAPH_SPIRV_VAL)
  message(STATUS "vkgraph: spirv-val: ${VKGRAPH_SPIRV_VAL} (understands cooperative matrix: ${VKGRAPH_SPIRV_VAL_COOPMAT})")
else()
  message(STATUS "vkgraph: spirv-val not found: shaders are checked by glslang only")
endif()
