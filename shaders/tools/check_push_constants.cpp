// Build tool: compares the push-constant block of every shader variant, as the compiler laid it
// out in the SPIR-V, with the C++ struct the Vulkan lowering fills for it
// (engine/backend/vulkan/push/). Runs in every build after the shaders compile; a field whose
// offset, type or presence differs fails the build with a message naming the shader, the field
// and both offsets.
//
// usage: vkgraph_check_push_constants MANIFEST STAMP
//   MANIFEST: one line per variant, tab-separated: name, .spv path, C++ struct ("-" for none),
//   written by shaders/CMakeLists.txt from each vkgraph_shader(... PUSH <struct>).
//   STAMP: written when every variant matches.

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/backend/vulkan/push/layout.h"
#include "engine/backend/vulkan/spirv_reflect.h"
#include "engine/core/error.h"
#include "shaders/tools/spirv_words.h"

namespace {

using vkgraph::vk::PushLayout;
using vkgraph::vk::SpirvPushBlock;

const PushLayout* find_layout(const std::string& name) {
  for (const PushLayout& layout : vkgraph::vk::push_layouts()) {
    if (layout.name == name) return &layout;
  }
  return nullptr;
}

// Every difference between the shader's block and the C++ struct, one message each.
void compare(const std::string& shader, const SpirvPushBlock& block, const PushLayout& layout,
             std::vector<std::string>& errors) {
  for (const vkgraph::vk::PushField& field : layout.fields) {
    const vkgraph::vk::SpirvMember* member = nullptr;
    for (const auto& m : block.members) {
      if (m.name == field.name) member = &m;
    }
    if (member == nullptr) {
      errors.push_back(fmt::format("shader '{}': field '{}' (offset {} in {}) is not in the shader's block {}", shader,
                                   field.name, field.offset, layout.name, block.type_name));
      continue;
    }
    if (member->offset != field.offset) {
      errors.push_back(fmt::format("shader '{}': field '{}' is at offset {} in the SPIR-V, {} in {}", shader,
                                   field.name, member->offset, field.offset, layout.name));
    }
    if (member->type != field.type) {
      errors.push_back(fmt::format("shader '{}': field '{}' (offset {}) is {} in the SPIR-V, {} in {}", shader,
                                   field.name, member->offset, member->type, field.type, layout.name));
    }
  }
  for (const auto& m : block.members) {
    bool known = false;
    for (const vkgraph::vk::PushField& field : layout.fields) known = known || m.name == field.name;
    if (!known) {
      errors.push_back(fmt::format("shader '{}': member '{}' (offset {}) of block {} has no field in {}", shader,
                                   m.name, m.offset, block.type_name, layout.name));
    }
  }
  if (block.size != layout.size) {
    errors.push_back(fmt::format("shader '{}': the push-constant block is {} bytes in the SPIR-V, {} in {}", shader,
                                 block.size, layout.size, layout.name));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MANIFEST STAMP\n", argv[0]);
    return 2;
  }
  std::vector<std::string> errors;
  size_t checked = 0;
  try {
    std::ifstream manifest(argv[1]);
    VKGRAPH_CHECK(manifest.good(), "{}: cannot open", argv[1]);
    std::string line;
    while (std::getline(manifest, line)) {
      if (line.empty()) continue;
      std::istringstream fields(line);
      std::string name, spv, push;
      VKGRAPH_CHECK(std::getline(fields, name, '\t') && std::getline(fields, spv, '\t') && std::getline(fields, push),
                    "{}: line '{}' is not NAME<tab>SPV<tab>STRUCT", argv[1], line);
      const std::vector<uint32_t> words = vkgraph::tools::read_spirv_words(spv);
      const std::optional<SpirvPushBlock> block = vkgraph::vk::reflect_push_constants(words, spv);
      ++checked;
      if (push == "-") {
        if (block) {
          errors.push_back(fmt::format(
              "shader '{}': has a push-constant block ({}, {} bytes) but its vkgraph_shader() names no PUSH struct",
              name, block->type_name, block->size));
        }
        continue;
      }
      const PushLayout* layout = find_layout(push);
      if (layout == nullptr) {
        errors.push_back(
            fmt::format("shader '{}': PUSH {} is not a struct of engine/backend/vulkan/push/layouts.cpp", name, push));
      } else if (!block) {
        errors.push_back(
            fmt::format("shader '{}': names PUSH {} but its SPIR-V has no push-constant block", name, push));
      } else {
        compare(name, *block, *layout, errors);
      }
    }
  } catch (const std::exception& e) {
    errors.push_back(e.what());
  }
  if (!errors.empty()) {
    for (const std::string& e : errors) std::fprintf(stderr, "push constants: %s\n", e.c_str());
    std::fprintf(stderr, "push constants: %zu mismatch(es); the GLSL block and the C++ struct must agree\n",
                 errors.size());
    return 1;
  }
  std::ofstream stamp(argv[2]);
  stamp << checked << " shader variants: push constants match the lowering's structs\n";
  return stamp.good() ? 0 : 1;
}
