#include "engine/backend/vulkan/spirv_reflect.h"

#include <map>

#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// From the SPIR-V specification (1.6): the module header, and the opcodes, decoration and
// storage class read here.
constexpr uint32_t kMagic = 0x07230203;
constexpr size_t kHeaderWords = 5;
constexpr uint32_t kOpName = 5;
constexpr uint32_t kOpMemberName = 6;
constexpr uint32_t kOpTypeInt = 21;
constexpr uint32_t kOpTypeFloat = 22;
constexpr uint32_t kOpTypeVector = 23;
constexpr uint32_t kOpTypeStruct = 30;
constexpr uint32_t kOpTypePointer = 32;
constexpr uint32_t kOpVariable = 59;
constexpr uint32_t kOpMemberDecorate = 72;
constexpr uint32_t kDecorationOffset = 35;
constexpr uint32_t kStorageClassPushConstant = 9;

struct Scalar {
  std::string name;  // GLSL's: "uint", "int", "float", "double", ...
  uint32_t bytes = 0;
};

// A literal string: UTF-8, NUL-terminated, packed into words little-endian first.
std::string literal_string(std::span<const uint32_t> words) {
  std::string s;
  for (uint32_t w : words) {
    for (int i = 0; i < 4; ++i) {
      const char c = char((w >> (8 * i)) & 0xff);
      if (c == '\0') return s;
      s += c;
    }
  }
  return s;
}

std::string vector_name(const Scalar& component, uint32_t count) {
  const std::string prefix = component.name == "uint"     ? "u"
                             : component.name == "int"    ? "i"
                             : component.name == "double" ? "d"
                                                          : "";
  return prefix + "vec" + std::to_string(count);
}

}  // namespace

std::optional<SpirvPushBlock> reflect_push_constants(std::span<const uint32_t> words, const std::string& module_name) {
  VKGRAPH_CHECK(words.size() >= kHeaderWords && words[0] == kMagic,
                "{}: not a SPIR-V module ({} words, first word {:#010x}; expected the magic {:#010x})", module_name,
                words.size(), words.empty() ? 0u : words[0], kMagic);
  std::map<uint32_t, std::string> names;                              // id -> OpName
  std::map<std::pair<uint32_t, uint32_t>, std::string> member_names;  // (struct, member) -> name
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> member_offsets;   // (struct, member) -> Offset
  std::map<uint32_t, Scalar> types;                                   // scalar and vector types
  std::map<uint32_t, std::vector<uint32_t>> structs;                  // struct -> member type ids
  std::map<uint32_t, std::pair<uint32_t, uint32_t>> pointers;         // pointer -> (storage class, pointee)
  std::vector<uint32_t> push_variable_types;                          // pointer types of push variables

  for (size_t at = kHeaderWords; at < words.size();) {
    const uint32_t count = words[at] >> 16;
    const uint32_t opcode = words[at] & 0xffff;
    VKGRAPH_CHECK(count > 0 && at + count <= words.size(),
                  "{}: malformed SPIR-V: the instruction at word {} (opcode {}) claims {} words, {} remain",
                  module_name, at, opcode, count, words.size() - at);
    const std::span<const uint32_t> op = words.subspan(at + 1, count - 1);  // the operands
    auto need = [&](size_t n) {
      VKGRAPH_CHECK(op.size() >= n, "{}: malformed SPIR-V: opcode {} at word {} has {} operands, needs {}", module_name,
                    opcode, at, op.size(), n);
    };
    switch (opcode) {
      case kOpName:
        need(2);
        names[op[0]] = literal_string(op.subspan(1));
        break;
      case kOpMemberName:
        need(3);
        member_names[{op[0], op[1]}] = literal_string(op.subspan(2));
        break;
      case kOpMemberDecorate:
        need(3);
        if (op[2] == kDecorationOffset) {
          need(4);
          member_offsets[{op[0], op[1]}] = op[3];
        }
        break;
      case kOpTypeInt:
        need(3);
        types[op[0]] = {op[2] != 0 ? (op[1] == 64   ? "int64_t"
                                      : op[1] == 16 ? "int16_t"
                                                    : "int")
                                   : (op[1] == 64   ? "uint64_t"
                                      : op[1] == 16 ? "uint16_t"
                                                    : "uint"),
                        op[1] / 8};
        break;
      case kOpTypeFloat:
        need(2);
        types[op[0]] = {op[1] == 64 ? "double" : op[1] == 16 ? "float16_t" : "float", op[1] / 8};
        break;
      case kOpTypeVector:
        need(3);
        if (auto c = types.find(op[1]); c != types.end()) {
          types[op[0]] = {vector_name(c->second, op[2]), c->second.bytes * op[2]};
        }
        break;
      case kOpTypeStruct:
        need(1);
        structs[op[0]].assign(op.begin() + 1, op.end());
        break;
      case kOpTypePointer:
        need(3);
        pointers[op[0]] = {op[1], op[2]};
        break;
      case kOpVariable:
        need(3);
        if (op[2] == kStorageClassPushConstant) push_variable_types.push_back(op[0]);
        break;
      default:
        break;
    }
    at += count;
  }

  if (push_variable_types.empty()) return std::nullopt;
  VKGRAPH_CHECK(push_variable_types.size() == 1, "{}: {} push-constant blocks; a Vulkan compute shader has at most one",
                module_name, push_variable_types.size());
  const auto pointer = pointers.find(push_variable_types[0]);
  VKGRAPH_CHECK(pointer != pointers.end() && structs.contains(pointer->second.second),
                "{}: the push-constant variable's type is not a pointer to a block", module_name);
  const uint32_t block = pointer->second.second;
  SpirvPushBlock out;
  out.type_name = names.contains(block) ? names[block] : std::string();
  const std::vector<uint32_t>& member_types = structs[block];
  for (uint32_t i = 0; i < member_types.size(); ++i) {
    SpirvMember m;
    const auto offset = member_offsets.find({block, i});
    VKGRAPH_CHECK(offset != member_offsets.end(), "{}: push-constant member {} has no Offset decoration", module_name,
                  i);
    m.offset = offset->second;
    if (const auto name = member_names.find({block, i}); name != member_names.end()) m.name = name->second;
    if (const auto type = types.find(member_types[i]); type != types.end()) {
      m.type = type->second.name;
      m.size = type->second.bytes;
    } else {
      m.type = "other";
    }
    out.size = std::max(out.size, m.offset + m.size);
    out.members.push_back(std::move(m));
  }
  return out;
}

}  // namespace vkgraph::vk
