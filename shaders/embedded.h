#pragma once
// The SPIR-V of every shader variant, compiled at build time and linked into the library.

#include <cstdint>
#include <span>
#include <string_view>

namespace vkgraph::shaders {

struct EmbeddedShader {
  std::string_view name;            // variant name, e.g. "elementwise/add_f32"
  std::span<const uint32_t> spirv;  // SPIR-V words
  bool needs_coopmat;               // uses GL_KHR_cooperative_matrix
  std::string_view push_struct;     // the C++ struct of its push constants (engine/backend/vulkan/push/), or empty
};

// Every embedded variant, in build order.
std::span<const EmbeddedShader* const> all();

// The variant called `name`, or nullptr.
const EmbeddedShader* find(std::string_view name);

}  // namespace vkgraph::shaders
