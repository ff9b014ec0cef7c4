# The weight-type table for the shader build: parses engine/core/weight_types.def (the same rows
# the C++ code expands as an X-macro) so that shader variants and GLSL block constants follow
# the one list of types.
#
# After include(VkgraphWeightTypes):
#   VKGRAPH_WEIGHT_TYPES             every row's enum name, in table order (F32;F16;I32;Q8_0;...)
#   VKGRAPH_TYPE_<ENUM>_NAME         its lower-case name (q4_k)
#   VKGRAPH_TYPE_<ENUM>_BLOCK_ELEMENTS, _BLOCK_BYTES, _GGML_ID, _VULKAN (e.g. vk_matmul|vk_dot8)
#   vkgraph_weight_types_with(<out> <family>)  the enum names whose vulkan column lists <family>
#                                              (vk_matmul, vk_dot8, vk_coopmat)
#   VKGRAPH_WEIGHT_TYPES_GLSL        a generated header with <ENUM>_BLOCK_ELEMENTS, _BLOCK_BYTES
#                                    and _BLOCK_WORDS (16-bit words) for every type
set(vkgraph_weight_types_def "${CMAKE_SOURCE_DIR}/engine/core/weight_types.def")
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${vkgraph_weight_types_def}")

file(STRINGS "${vkgraph_weight_types_def}" vkgraph_type_rows REGEX "^VKGRAPH_TYPE\\(")
set(VKGRAPH_WEIGHT_TYPES "")
set(vkgraph_glsl "// Generated from engine/core/weight_types.def by cmake/VkgraphWeightTypes.cmake.\n")
string(APPEND vkgraph_glsl "// Per weight type: elements and bytes of one block, and its 16-bit words where whole.\n")
foreach(row IN LISTS vkgraph_type_rows)
  if(NOT row MATCHES "^VKGRAPH_TYPE\\(([A-Z0-9_]+), ([a-z0-9_]+), ([0-9]+), ([0-9]+), ([0-9]+), ([a-z0-9_|]+)\\)$")
    message(FATAL_ERROR "engine/core/weight_types.def: cannot parse the row '${row}'")
  endif()
  set(enum "${CMAKE_MATCH_1}")
  list(APPEND VKGRAPH_WEIGHT_TYPES "${enum}")
  set(VKGRAPH_TYPE_${enum}_NAME "${CMAKE_MATCH_2}")
  set(VKGRAPH_TYPE_${enum}_GGML_ID "${CMAKE_MATCH_3}")
  set(VKGRAPH_TYPE_${enum}_BLOCK_ELEMENTS "${CMAKE_MATCH_4}")
  set(VKGRAPH_TYPE_${enum}_BLOCK_BYTES "${CMAKE_MATCH_5}")
  set(VKGRAPH_TYPE_${enum}_VULKAN "${CMAKE_MATCH_6}")
  string(APPEND vkgraph_glsl "#define ${enum}_BLOCK_ELEMENTS ${CMAKE_MATCH_4}u\n#define ${enum}_BLOCK_BYTES ${CMAKE_MATCH_5}u\n")
  math(EXPR words_rem "${CMAKE_MATCH_5} % 2")
  if(words_rem EQUAL 0)
    math(EXPR words "${CMAKE_MATCH_5} / 2")
    string(APPEND vkgraph_glsl "#define ${enum}_BLOCK_WORDS ${words}u\n")
  endif()
endforeach()
if(NOT VKGRAPH_WEIGHT_TYPES)
  message(FATAL_ERROR "engine/core/weight_types.def: no VKGRAPH_TYPE rows found")
endif()

function(vkgraph_weight_types_with out family)
  set(types "")
  foreach(enum IN LISTS VKGRAPH_WEIGHT_TYPES)
    string(REPLACE "|" ";" families "${VKGRAPH_TYPE_${enum}_VULKAN}")
    if(family IN_LIST families)
      list(APPEND types "${enum}")
    endif()
  endforeach()
  set(${out} "${types}" PARENT_SCOPE)
endfunction()

set(VKGRAPH_WEIGHT_TYPES_GLSL_DIR "${CMAKE_BINARY_DIR}/generated/glsl")
set(VKGRAPH_WEIGHT_TYPES_GLSL "${VKGRAPH_WEIGHT_TYPES_GLSL_DIR}/weight_types.glsl")
file(CONFIGURE OUTPUT "${VKGRAPH_WEIGHT_TYPES_GLSL}" CONTENT "${vkgraph_glsl}")
