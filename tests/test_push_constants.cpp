// The shader interface: the SPIR-V reader finds the push-constant block the compiler laid out,
// the build's check (shaders/tools/check_push_constants.cpp) fails on a block that differs from
// the C++ struct, and set_push refuses a struct the dispatch's shader does not take.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/attention.h"
#include "engine/backend/vulkan/push/row_ops.h"
#include "engine/backend/vulkan/spirv_reflect.h"
#include "engine/core/error.h"
#include "shaders/embedded.h"
#include "tests/run_command.h"
#include "tests/temp_dir.h"

using namespace vkgraph;
using namespace vkgraph::vk;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<uint32_t> embedded_words(std::string_view name) {
  const shaders::EmbeddedShader* shader = shaders::find(name);
  REQUIRE(shader != nullptr);
  return {shader->spirv.begin(), shader->spirv.end()};
}

}  // namespace

TEST_CASE("push constants: the SPIR-V reader finds the compiler's block", "[push][shaders]") {
  // attention/params.glsl's split block: 21 four-byte scalars (with the key rotation's
  // factors_off and has_factors, and the score's softcap), which std430 packs back to back.
  const auto block = reflect_push_constants(embedded_words("attention/split_kv_f32"), "split_kv_f32");
  REQUIRE(block.has_value());
  CHECK(block->type_name == "Params");
  REQUIRE(block->members.size() == 21);
  CHECK(block->size == 84);
  CHECK(block->members[0].name == "m");
  CHECK(block->members[4].name == "scale");
  CHECK(block->members[4].type == "float");
  CHECK(block->members[5].name == "window");
  CHECK(block->members[5].type == "int");
  CHECK(block->members[11].name == "o_off");
  CHECK(block->members[11].offset == 44);
  CHECK(block->members[17].name == "softcap");
  CHECK(block->members[17].type == "float");
  CHECK(block->members[20].name == "part_off");
  CHECK(block->members[20].offset == 80);
  CHECK(block->members[20].type == "uint");
  // The C++ struct the lowering fills says the same.
  const PushLayout layout = PushStruct<AttentionSplitPush>::layout();
  CHECK(layout.size == 84);
  CHECK(layout.fields.at(20).name == "part_off");
  CHECK(layout.fields.at(17).name == "softcap");
  CHECK(layout.fields.at(17).offset == 68);
}

TEST_CASE("push constants: a malformed module is an error naming it", "[push][shaders]") {
  std::vector<uint32_t> words = embedded_words("norm/rms_norm_f32");
  CHECK_THROWS_WITH(reflect_push_constants({}, "empty.spv"), ContainsSubstring("empty.spv: not a SPIR-V module"));
  std::vector<uint32_t> bad_magic = words;
  bad_magic[0] = 0x12345678;
  CHECK_THROWS_WITH(reflect_push_constants(bad_magic, "magic.spv"), ContainsSubstring("magic.spv: not a SPIR-V"));
  // The first instruction claims more words than the module has left.
  std::vector<uint32_t> overlong = words;
  overlong[5] = (uint32_t(words.size()) << 16) | (overlong[5] & 0xffff);
  CHECK_THROWS_WITH(reflect_push_constants(overlong, "long.spv"), ContainsSubstring("long.spv: malformed SPIR-V"));
  std::vector<uint32_t> zero = words;
  zero[5] = zero[5] & 0xffff;  // a word count of 0 would never advance
  CHECK_THROWS_WITH(reflect_push_constants(zero, "zero.spv"), ContainsSubstring("zero.spv: malformed SPIR-V"));
}

TEST_CASE("push constants: the build's check fails on a field at another offset", "[push][shaders]") {
  testing::TempDir dir;
  const std::string spv = std::string(VKGRAPH_SHADER_SPV_DIR) + "/attention/split_kv_f32.spv";
  const auto check = [&](const std::string& push_struct) {
    const std::string manifest = dir.file("manifest.tsv");
    std::ofstream(manifest) << "attention/split_kv_f32\t" << spv << "\t" << push_struct << "\n";
    return testing::run_program(VKGRAPH_CHECK_PUSH_TOOL,
                                testing::shell_quote(manifest) + " " + testing::shell_quote(dir.file("stamp")));
  };
  // The struct the shader really takes passes...
  const testing::CommandResult good = check("AttentionSplitPush");
  INFO(good.err);
  CHECK(good.exit_code == 0);
  // ...and the reduce pass's, whose o_off sits at 12 where the split block has it at 44, fails
  // naming the shader, the field and both offsets.
  const testing::CommandResult bad = check("AttentionReducePush");
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, ContainsSubstring("shader 'attention/split_kv_f32': field 'o_off' is at offset 44 in the "
                                        "SPIR-V, 12 in AttentionReducePush"));
  CHECK_THAT(bad.err, ContainsSubstring("member 'scale' (offset 16) of block Params has no field"));
  CHECK_THAT(bad.err, ContainsSubstring("84 bytes in the SPIR-V, 16 in AttentionReducePush"));
}

TEST_CASE("push constants: set_push refuses a struct the shader does not take", "[push][shaders]") {
  const std::vector<const KernelRow*> rows = find_kernel_rows("norm/rms_norm_f32");
  REQUIRE(!rows.empty());
  Dispatch d;
  d.kernel = rows[0];
  CHECK_NOTHROW(set_push(d, NormPush{}));
  CHECK(d.push.size() == sizeof(NormPush));
  CHECK_THROWS_WITH(set_push(d, SoftmaxPush{}),
                    ContainsSubstring("shader 'norm/rms_norm_f32' takes the push constants NormPush (its PUSH in "
                                      "shaders.cmake), but its lowering fills SoftmaxPush"));
}
