// The Vulkan kernel selection table: which kernel each op/type/form gets on which device,
// including devices this machine does not have (fake DeviceInfo values).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <bit>
#include <map>
#include <set>
#include <string>

#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"
#include "engine/graph/graph.h"
#include "shaders/embedded.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using namespace vkgraph::vk;
using Catch::Matchers::ContainsSubstring;

namespace {

// A discrete GPU with the Vulkan 1.3 feature set a 2020s desktop GPU reports.
DeviceInfo desktop_gpu() {
  DeviceInfo d;
  d.name = "fake desktop GPU";
  d.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  d.subgroup_size = 32;
  d.max_shared_memory = 48 * 1024;
  d.max_workgroup_size[0] = 1024;
  d.max_workgroup_size[1] = 1024;
  d.max_workgroup_size[2] = 64;
  d.max_workgroup_count[0] = d.max_workgroup_count[1] = d.max_workgroup_count[2] = 65535;
  d.max_workgroup_invocations = 1024;
  d.max_storage_buffer_range = 1u << 31;
  d.max_push_constants_size = 256;
  d.min_storage_buffer_offset_alignment = 16;
  d.shader_float16 = d.shader_int8 = d.shader_int16 = true;
  d.storage_buffer_8bit = d.storage_buffer_16bit = true;
  return d;
}

std::string chosen(const DeviceInfo& device, KernelKey key) {
  return std::string(select_kernel_row(device, key).variant.shader);
}

}  // namespace

TEST_CASE("kernel table: every row names an embedded shader with a sane launch shape", "[vulkan][kernels]") {
  REQUIRE(!kernel_table().empty());
  for (const KernelRow& row : kernel_table()) {
    INFO(kernel_key_string(row.key) << " -> " << row.variant.shader);
    CHECK(shaders::find(row.variant.shader) != nullptr);
    // The reductions in shaders/common/reduce.glsl need a power-of-two workgroup.
    CHECK(std::has_single_bit(row.workgroup_size));
    CHECK(row.workgroup_size <= kMaxWorkgroup);
    CHECK(row.variant.requirements.workgroup_invocations == row.workgroup_size);
    CHECK(std::string(row.why).size() > 0);
  }
}

TEST_CASE("kernel table: choice by op, types and form", "[vulkan][kernels]") {
  const DeviceInfo gpu = desktop_gpu();
  CHECK(chosen(gpu, {OpKind::matmul, DType::Q8_0, DType::F32, KernelForm::vector}) == "matmul/matvec_q8_0_f32");
  CHECK(chosen(gpu, {OpKind::matmul, DType::Q4_0, DType::F16, KernelForm::vector}) == "matmul/matvec_q4_0_f16");
  const KernelRow& matvec = select_kernel_row(gpu, {OpKind::matmul, DType::F32, DType::F32, KernelForm::vector});
  CHECK(matvec.tile[0] == 4);  // rows per workgroup
  CHECK(matvec.workgroup_size % matvec.tile[0] == 0);
  CHECK(std::has_single_bit(matvec.workgroup_size / matvec.tile[0]));  // lanes per row, for the tree reduction
  CHECK(chosen(gpu, {OpKind::matmul, DType::F16, DType::F32, KernelForm::matrix}) == "matmul/tiled_f16_f32");
  const KernelRow& tiled = select_kernel_row(gpu, {OpKind::matmul, DType::Q4_0, DType::F32, KernelForm::matrix});
  CHECK(tiled.variant.shader == "matmul/tiled_q4_0_f32");
  CHECK(tiled.tile == std::array<uint32_t, 3>{32, 32, 32});
  CHECK(tiled.workgroup_size == (32 / 4) * (32 / 4));  // the shader's 4x4 accumulators per invocation
  CHECK(chosen(gpu, {OpKind::rope, DType::F32, DType::I32, KernelForm::rope_neox}) == "rope/rope_neox_f32");
  CHECK(chosen(gpu, {OpKind::rope, DType::F32, DType::I32, KernelForm::rope_normal}) == "rope/rope_normal_f32");
  CHECK(chosen(gpu, {OpKind::get_rows, DType::Q4_0, DType::I32}) == "get_rows/get_rows_q4_0");
  CHECK(chosen(gpu, {OpKind::kv_write, DType::F32, DType::F16}) == "kv/kv_write_f32_f16");
  CHECK(chosen(gpu, {OpKind::attention, DType::F16, DType::F32, KernelForm::attention_decode}) ==
        "attention/split_kv_f16");
  CHECK(chosen(gpu, {OpKind::attention, DType::F16, DType::F32, KernelForm::attention_tiled16}) ==
        "attention/tiled_kv_f16");
  CHECK(chosen(gpu, {OpKind::convert, DType::F32, DType::F16}) == "elementwise/convert_f32_f16");
  CHECK(select_kernel_row(gpu, {OpKind::add, DType::F32, DType::F32}).workgroup_size == 256);

  // A key with no row at all is an error naming the op and types.
  CHECK_THROWS_WITH(select_kernel_row(gpu, {OpKind::add, DType::Q8_0, DType::F32}),
                    ContainsSubstring("add(q8_0, f32)") && ContainsSubstring("no row"));
}

TEST_CASE("kernel table: device limits pick fallback rows or explain the refusal", "[vulkan][kernels]") {
  // Vulkan's guaranteed minimum of 128 invocations per workgroup.
  DeviceInfo small = desktop_gpu();
  small.max_workgroup_invocations = 128;
  CHECK(select_kernel_row(small, {OpKind::add, DType::F32, DType::F32}).workgroup_size == 128);
  CHECK(select_kernel_row(small, {OpKind::get_rows, DType::Q8_0, DType::I32}).workgroup_size == 128);

  // Without 16-bit storage no f16 or quantized tensor can be read; f32 kernels still run.
  DeviceInfo no16 = desktop_gpu();
  no16.storage_buffer_16bit = false;
  CHECK(chosen(no16, {OpKind::matmul, DType::F32, DType::F32, KernelForm::vector}) == "matmul/matvec_f32_f32");
  CHECK_THROWS_WITH(select_kernel_row(no16, {OpKind::matmul, DType::Q8_0, DType::F32, KernelForm::vector}),
                    ContainsSubstring("fake desktop GPU") && ContainsSubstring("storageBuffer16BitAccess") &&
                        ContainsSubstring("matmul(q8_0, f32, vector)"));
}

TEST_CASE("kernel table: cooperative matrix changes only keys that have a coopmat row", "[vulkan][kernels]") {
  // A device with cooperative matrices gets the same portable kernels for every key without a
  // coopmat row (those with one: tests/test_attention_kernels.cpp), and none where the device
  // without them gets none (rows meant for CPU-class devices only).
  const DeviceInfo plain = desktop_gpu();
  DeviceInfo coop = desktop_gpu();
  coop.has_cooperative_matrix = true;
  coop.vulkan_memory_model = true;
  coop.extensions.push_back(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME);
  coop.coopmat_shapes.push_back(CoopMatShape{16, 16, 16});
  auto has_coopmat_row = [](const KernelKey& key) {
    for (const KernelRow& r : kernel_table()) {
      if (r.key == key && r.variant.requirements.coopmat.has_value()) return true;
    }
    return false;
  };
  for (const KernelRow& row : kernel_table()) {
    if (has_coopmat_row(row.key)) continue;
    INFO(kernel_key_string(row.key));
    const KernelRow* plain_row = nullptr;
    try {
      plain_row = &select_kernel_row(plain, row.key);
    } catch (const Error&) {
      CHECK_THROWS_AS(select_kernel_row(coop, row.key), Error);
      continue;
    }
    CHECK(&select_kernel_row(coop, row.key) == plain_row);
  }
}

TEST_CASE("kernel table: the test device runs every op and type the table lists", "[vulkan][kernels]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  for (const KernelRow& row : kernel_table()) {
    INFO(kernel_key_string(row.key));
    CHECK_NOTHROW(select_kernel_row(ctx->info(), row.key));
  }
}

// The row kernels read 16 bytes as two 64-bit words (matmul/rows_share.glsl): a device without
// shaderInt64 gets the mat-vec kernels instead, fused products included.
TEST_CASE("kernel table: without shaderInt64 the row kernels give way", "[vulkan][kernels]") {
  auto ctx = test::vulkan_context();
  DeviceInfo cpu = ctx->info();
  REQUIRE(cpu.is_cpu());
  REQUIRE(cpu.shader_int64);
  for (OpKind op : {OpKind::matmul, OpKind::matmul_add, OpKind::matmul_cat, OpKind::matmul_swiglu}) {
    const KernelKey key{op, DType::Q4_0, DType::F32, KernelForm::vector};
    INFO(kernel_key_string(key));
    CHECK(select_kernel_row(cpu, key).family == KernelFamily::matmul_rows);
    DeviceInfo no64 = cpu;
    no64.shader_int64 = false;
    CHECK(select_kernel_row(no64, key).family == KernelFamily::matmul_matvec);
  }
}

TEST_CASE("kernel table: keys from graph nodes", "[vulkan][kernels]") {
  Graph g;
  const TensorId w = g.input("w", DType::F32, {8, 32});
  const TensorId x1 = g.input("x1", DType::F16, {1, 32});
  const TensorId x5 = g.input("x5", DType::F32, {5, 32});
  const TensorId y1 = g.matmul(w, x1);
  const TensorId y5 = g.matmul(w, x5);
  CHECK(kernel_key(g, g.node(y1)) == KernelKey{OpKind::matmul, DType::F32, DType::F16, KernelForm::vector});
  CHECK(kernel_key(g, g.node(y5)) == KernelKey{OpKind::matmul, DType::F32, DType::F32, KernelForm::matrix});
  const TensorId pos = g.input("pos", DType::I32, {5});
  const TensorId xr = g.reshape(x5, {5, 2, 16});
  const TensorId r = g.rope(xr, pos, RopeParams{RopeMode::neox, 16, 10000.0f, 1.0f});
  CHECK(kernel_key(g, g.node(r)) == KernelKey{OpKind::rope, DType::F32, DType::I32, KernelForm::rope_neox});
}

TEST_CASE("kernel table: every row has a unique name that finds it", "[vulkan][kernels]") {
  std::set<std::string> names;
  for (const KernelRow& row : kernel_table()) {
    const std::string name = kernel_row_name(row);
    INFO(name);
    CHECK(names.insert(name).second);
    const std::vector<const KernelRow*> found = find_kernel_rows(name);
    REQUIRE(found.size() >= 1);
    // A name finds the row itself; it finds others only when it is also their shader or
    // shader@when (a shader with one row per device class has no "#N").
    CHECK(std::find(found.begin(), found.end(), &row) != found.end());
    if (name.find('#') != std::string::npos) CHECK(found.size() == 1);
  }
  // A shader names all its rows; "shader@when" those for that device class.
  CHECK(find_kernel_rows("matmul/rows_q4_0_f32").size() == 3);  // decode cpu and gpu, prefill cpu
  CHECK(find_kernel_rows("matmul/rows_q4_0_f32@gpu").size() == 1);
  CHECK(find_kernel_rows("matmul/rows_q4_0_f32@cpu").size() == 2);
  CHECK(find_kernel_rows("no/such_shader").empty());
}

TEST_CASE("kernel table: a row's family matches the push constants of its shader", "[vulkan][kernels][push]") {
  // The lowering picks the push struct by family (and op); the shader's PUSH must be one of them.
  const std::map<KernelFamily, std::set<std::string_view>> takes = {
      {KernelFamily::elementwise, {"BinaryPush", "UnaryPush", "SwigluPush"}},
      {KernelFamily::row_reduction, {"NormPush", "NormLowRankPush", "SoftmaxPush", "ArgmaxPush"}},
      {KernelFamily::rope, {"RopePush"}},
      {KernelFamily::get_rows, {"GetRowsPush"}},
      {KernelFamily::kv_write, {"KvWritePush"}},
      {KernelFamily::matmul_matvec,
       {"MatmulPush", "MatmulAddPush", "MatmulGroupPush", "MatmulTailPush", "MatmulAddTailPush",
        "MatmulGroupTailPush"}},
      {KernelFamily::matmul_rows,
       {"MatmulPush", "MatmulAddPush", "MatmulAddNormPush", "MatmulGroupPush", "MatmulCatRopePush", "MatmulTailPush",
        "MatmulAddTailPush", "MatmulGroupTailPush"}},
      {KernelFamily::matmul_rows_tokens, {"MatmulPush"}},
      {KernelFamily::matmul_dot8, {"MatmulPush"}},
      {KernelFamily::matmul_tiled, {"MatmulPush"}},
      {KernelFamily::attention_split, {"AttentionSplitPush"}},
      {KernelFamily::attention_reduce, {"AttentionReducePush"}},
      {KernelFamily::rope_kv, {"RopeKvPush"}},
      {KernelFamily::attention_tiled, {"AttentionPush"}},
      {KernelFamily::attention_rows, {"AttentionPush"}},
      {KernelFamily::attention_paged, {"PagedAttentionPush"}},
      {KernelFamily::attention_paged_direct, {"PagedAttentionPush"}},
  };
  for (const KernelRow& row : kernel_table()) {
    INFO(kernel_row_name(row) << " (" << kernel_family_name(row.family) << ")");
    const shaders::EmbeddedShader* shader = shaders::find(row.variant.shader);
    if (shader == nullptr) continue;  // a COOPMAT variant in a build without them
    REQUIRE(takes.contains(row.family));
    CHECK(takes.at(row.family).contains(shader->push_struct));
  }
}
