#pragma once
// The push-constant block of a SPIR-V module as the shader compiler laid it out: its members'
// names, byte offsets and types. The build compares it with the lowering's C++ structs
// (shaders/tools/check_push_constants.cpp). Only the few instructions that describe types,
// names and offsets are read; everything else is skipped by its word count.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vkgraph::vk {

struct SpirvMember {
  std::string name;  // OpMemberName; empty when the module has no names
  uint32_t offset = 0;
  uint32_t size = 0;  // bytes; 0 for a type this reader does not size (arrays, structs)
  std::string type;   // "uint", "int", "float", "uvec4", ... or "other"
};

struct SpirvPushBlock {
  std::string type_name;  // the block's type name, e.g. "Params"
  std::vector<SpirvMember> members;
  uint32_t size = 0;  // the end of the last member: the bytes a push-constant range must cover
};

// The module's push-constant block, nullopt when it declares none. Throws Error (naming
// `module_name`) for words that are not a well-formed SPIR-V module, or for a module with more
// than one push-constant block.
std::optional<SpirvPushBlock> reflect_push_constants(std::span<const uint32_t> words, const std::string& module_name);

}  // namespace vkgraph::vk
