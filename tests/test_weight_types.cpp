// The weight-type table (engine/core/weight_types.def) against GGUF's own numbers, what it
// drives (GGUF type mapping, shader variants, kernel rows), and the refusal of types it lacks:
// before any allocation, naming the tensor, its type and the supported list.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/blocks.h"
#include "models/gguf/gguf_reader.h"
#include "models/model.h"
#include "shaders/embedded.h"
#include "tests/shared_files.h"
#include "tests/temp_dir.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("the weight-type table has GGUF's type ids and block sizes", "[quant][gguf]") {
  // ggml.h enum ggml_type and ggml-common.h's block structs (sizeof and QK), typed in here from
  // those headers: the table must agree with the files' format, not with itself.
  const struct {
    const char* name;
    uint32_t ggml_id;
    size_t elements, bytes;
  } ggml[] = {
      {"f32", 0, 1, 4},       {"f16", 1, 1, 2},         {"q4_0", 2, 32, 18},    {"q4_1", 3, 32, 20},
      {"q5_0", 6, 32, 22},    {"q5_1", 7, 32, 24},      {"q8_0", 8, 32, 34},    {"q2_k", 10, 256, 84},
      {"q3_k", 11, 256, 110}, {"q4_k", 12, 256, 144},   {"q5_k", 13, 256, 176}, {"q6_k", 14, 256, 210},
      {"iq4_nl", 20, 32, 18}, {"iq4_xs", 23, 256, 136}, {"bf16", 30, 1, 2},
  };
  size_t weight_types = 0;
  for (size_t i = 0; i < kDTypeCount; ++i) weight_types += is_weight_type(DType(i));
  CHECK(weight_types == std::size(ggml));
  for (const auto& g : ggml) {
    INFO(g.name);
    const auto type = dtype_from_name(g.name);
    REQUIRE(type.has_value());
    CHECK(is_weight_type(*type));
    CHECK(dtype_info(*type).ggml_id == g.ggml_id);
    CHECK(dtype_info(*type).block_elements == g.elements);
    CHECK(dtype_info(*type).block_bytes == g.bytes);
    CHECK(gguf::dtype_from_ggml_type(g.ggml_id) == type);
    CHECK(gguf::ggml_type_from_dtype(*type) == g.ggml_id);
    CHECK(row_bytes(*type, 256 * 3) == 256 * 3 / g.elements * g.bytes);
  }
  // I32 is never a weight, and GGUF types the engine lacks map to nothing.
  CHECK_FALSE(is_weight_type(DType::I32));
  CHECK_FALSE(gguf::dtype_from_ggml_type(26).has_value());  // i32
  for (uint32_t id : {9u, 15u, 16u, 17u, 18u, 19u, 21u, 22u, 24u, 25u, 27u, 28u, 29u, 34u, 35u, 39u, 99u}) {
    INFO(id);
    CHECK_FALSE(gguf::dtype_from_ggml_type(id).has_value());
  }
  CHECK(weight_type_names() ==
        "f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, bf16");
}

TEST_CASE("the table's vulkan column decides which shader variants are built and which kernel rows exist",
          "[quant][vulkan]") {
  for (size_t i = 0; i < kDTypeCount; ++i) {
    const auto type = DType(i);
    if (!is_weight_type(type)) continue;
    const std::string name(dtype_name(type));
    INFO(name);
    const uint32_t vk = dtype_info(type).vulkan;
    CHECK((shaders::find("matmul/rows_" + name + "_f32") != nullptr) == bool(vk & vk_matmul));
    CHECK((shaders::find("matmul/tiled_" + name + "_f16") != nullptr) == bool(vk & vk_matmul));
    CHECK((shaders::find("get_rows/get_rows_" + name) != nullptr) == bool(vk & vk_matmul));
    CHECK((shaders::find("matmul/dot8_" + name + "_f32") != nullptr) == bool(vk & vk_dot8));
    bool has_rows = false;
    for (const vk::KernelRow& row : vk::kernel_table()) {
      has_rows = has_rows || ((row.key.op == OpKind::matmul || row.key.op == OpKind::get_rows) && row.key.a == type);
    }
    CHECK(has_rows == bool(vk & vk_matmul));
    if (!(vk & vk_matmul)) {
      // A type the table lists without Vulkan shaders: the error names the op, the type and why.
      vk::DeviceInfo device;
      device.name = "any";
      CHECK_THROWS_WITH(vk::select_kernel_row(device, {OpKind::matmul, type, DType::F32, vk::KernelForm::vector}),
                        ContainsSubstring(fmt::format("no Vulkan kernel for matmul({}, f32, vector)", name)) &&
                            ContainsSubstring(fmt::format("{} weights have no Vulkan kernels yet; the cpu backend runs "
                                                          "them",
                                                          name)));
    }
  }
}

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Sets the GGUF type id of tensor `name` in a file's header: the u32 after its name, rank and
// dimensions.
void set_tensor_type(std::vector<char>& file, const std::string& name, uint32_t rank, uint32_t type) {
  size_t at = 0;
  for (;;) {
    at = std::string_view(file.data(), file.size()).find(name, at);
    REQUIRE(at != std::string_view::npos);
    uint64_t length = 0;
    std::memcpy(&length, file.data() + at - 8, 8);  // a tensor-info name is preceded by its length
    if (length == name.size()) break;
    at += name.size();
  }
  std::memcpy(file.data() + at + name.size() + 4 + 8 * rank, &type, 4);
}

}  // namespace

TEST_CASE("a model with a weight type we lack is refused before any allocation, naming it and the list",
          "[quant][gguf][model]") {
  const struct {
    uint32_t id;
    const char* ggml_name;
  } lacking[] = {{16, "iq2_xxs"}, {19, "iq1_s"}, {21, "iq3_s"}, {34, "tq1_0"}, {35, "tq2_0"}, {39, "mxfp4"}};
  std::vector<char> bytes = read_bytes(testing::shared_file("models/tiny-k-q4_k_m.gguf"));
  testing::TempDir dir;
  for (const auto& t : lacking) {
    INFO(t.ggml_name);
    set_tensor_type(bytes, "blk.1.ffn_up.weight", 2, t.id);
    const std::string path = dir.file(fmt::format("{}.gguf", t.ggml_name));
    std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    cpu::CpuBackend backend;
    CHECK_THROWS_WITH(
        models::Model::load(path, backend),
        ContainsSubstring(path) && ContainsSubstring("tensor 'blk.1.ffn_up.weight'") &&
            ContainsSubstring(fmt::format("has tensor type {} (id {}), which is not supported", t.ggml_name, t.id)) &&
            ContainsSubstring("(supported: f32, f16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, "
                              "q5_k, q6_k, iq4_nl, iq4_xs, bf16)"));
    CHECK(backend.storage_bytes() == 0);  // nothing was uploaded
  }
}
