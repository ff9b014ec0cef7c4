// Issue 19's defect 6 in the prefill matmul kernels, checked without a GPU on what decides the
// speed there (lavapipe's timings show neither bank conflicts nor register pressure):
//   - matmul_tiled's shared tiles are laid out (shaders/matmul/tiled_layout.h) so that a 32-lane
//     subgroup's reads of one k step fall in distinct banks;
//   - the native cooperative-matrix matmul keeps its accumulators in registers across the K loop:
//     its SPIR-V never loads an accumulator matrix (it did, from shared memory, every BK step);
//   - both tiled kernels stage weights 32 at a time (w_chunk32: a block's scale decoded once),
//     never through the per-weight accessor w_value, which decoded the scale for every weight.
// That the kernels still compute the right products is the op cases' job ([vulkan][matmul] and
// the coopmat_emulated_* / subgroup_width_* ctest entries).
#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>

#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "shaders/embedded.h"
#include "shaders/matmul/tiled_layout.h"

using namespace vkgraph;

namespace {

// GPUs split shared memory into 32 banks of 4 bytes; a subgroup's access is served in one pass
// when no two lanes read different addresses of one bank (same address: a broadcast).
constexpr uint32_t kBanks = 32;
constexpr uint32_t kLanes = 32;

using TileIndex = std::function<uint32_t(uint32_t row, uint32_t k, uint32_t bk)>;

// The worst number of distinct addresses one bank serves in one read instruction of
// matmul_tiled.comp's inner loop (a[i] = xs[tm * TM + i, k], b[j] = ws[tn * TN + j, k]) over
// every k, i, j and every group of kLanes consecutive invocations: 1 is conflict-free.
uint32_t worst_bank_ways(uint32_t bn, uint32_t bk, uint32_t workgroup, const TileIndex& index) {
  using namespace shaders::tiled;
  const uint32_t threads_n = bn / TILED_TN;
  uint32_t worst = 0;
  for (uint32_t first = 0; first < workgroup; first += kLanes) {
    for (uint32_t k = 0; k < bk; ++k) {
      for (uint32_t e = 0; e < std::max(TILED_TM, TILED_TN); ++e) {
        for (const bool weights : {false, true}) {
          if (e >= (weights ? TILED_TN : TILED_TM)) continue;
          std::map<uint32_t, std::set<uint32_t>> by_bank;
          for (uint32_t t = first; t < std::min(first + kLanes, workgroup); ++t) {
            const uint32_t row = weights ? (t % threads_n) * TILED_TN + e : (t / threads_n) * TILED_TM + e;
            const uint32_t address = index(row, k, bk);
            by_bank[address % kBanks].insert(address);
          }
          for (const auto& [bank, addresses] : by_bank) worst = std::max(worst, uint32_t(addresses.size()));
        }
      }
    }
  }
  return worst;
}

// SPIR-V: an instruction's first word is (word count << 16) | opcode; the module starts after
// the 5-word header.
constexpr uint32_t kOpName = 5;
constexpr uint32_t kOpConstant = 43;
constexpr uint32_t kOpFunctionCall = 57;
constexpr uint32_t kOpTypeCooperativeMatrixKHR = 4456;
constexpr uint32_t kOpCooperativeMatrixLoadKHR = 4457;
constexpr uint32_t kOpCooperativeMatrixStoreKHR = 4458;
constexpr uint32_t kMatrixAccumulatorKHR = 2;  // CooperativeMatrixUse

template <typename F>
void for_each_instruction(std::span<const uint32_t> words, F&& f) {
  for (size_t at = 5; at < words.size();) {
    const uint32_t count = words[at] >> 16;
    REQUIRE(count > 0);
    REQUIRE(at + count <= words.size());
    f(words[at] & 0xffffu, words.subspan(at + 1, count - 1));
    at += count;
  }
}

std::string literal_string(std::span<const uint32_t> operands) {
  std::string s;
  for (uint32_t w : operands) {
    for (int b = 0; b < 4; ++b) {
      const char c = char((w >> (8 * b)) & 0xffu);
      if (c == '\0') return s;
      s.push_back(c);
    }
  }
  return s;
}

// How many OpCooperativeMatrixLoadKHR of each matrix use (0 A, 1 B, 2 accumulator) a module
// has, and how many OpCooperativeMatrixStoreKHR (only accumulators are stored).
struct CoopMatAccesses {
  std::map<uint32_t, int> loads;
  int stores = 0;
};

CoopMatAccesses coopmat_accesses(std::span<const uint32_t> words) {
  std::map<uint32_t, uint32_t> constants;  // id -> value (32-bit OpConstant)
  std::map<uint32_t, uint32_t> use_of;     // cooperative-matrix type id -> its use
  CoopMatAccesses r;
  for_each_instruction(words, [&](uint32_t op, std::span<const uint32_t> o) {
    if (op == kOpConstant && o.size() == 3) constants[o[1]] = o[2];
    if (op == kOpTypeCooperativeMatrixKHR) {
      REQUIRE(o.size() == 6);  // result, component type, scope, rows, columns, use (ids)
      REQUIRE(constants.contains(o[5]));
      use_of[o[0]] = constants.at(o[5]);
    }
    if (op == kOpCooperativeMatrixLoadKHR) {
      REQUIRE(use_of.contains(o[0]));
      ++r.loads[use_of.at(o[0])];
    }
    if (op == kOpCooperativeMatrixStoreKHR) ++r.stores;
  });
  return r;
}

// The functions a module calls, by their debug names ("w_value(u1;u1;"), and how often.
std::map<std::string, int> called_functions(std::span<const uint32_t> words) {
  std::map<uint32_t, std::string> names;
  std::map<std::string, int> calls;
  for_each_instruction(words, [&](uint32_t op, std::span<const uint32_t> o) {
    if (op == kOpName && o.size() >= 2) names[o[0]] = literal_string(o.subspan(1));
    if (op == kOpFunctionCall) {
      REQUIRE(o.size() >= 3);
      ++calls[names.contains(o[2]) ? names.at(o[2]) : "?"];
    }
  });
  return calls;
}

int calls_starting(const std::map<std::string, int>& calls, std::string_view prefix) {
  int n = 0;
  for (const auto& [name, count] : calls) {
    if (name.starts_with(prefix)) n += count;
  }
  return n;
}

}  // namespace

TEST_CASE("defect 6: matmul_tiled's subgroups read its shared tiles without bank conflicts",
          "[vulkan][matmul][defects]") {
  using namespace shaders::tiled;
  int rows = 0;
  for (const vk::KernelRow& row : vk::kernel_table()) {
    if (!std::string_view(row.variant.shader).starts_with("matmul/tiled_")) continue;
    INFO(vk::kernel_row_name(row));
    const auto [bm, bn, bk] = row.tile;
    // The shader's constraint on the row (workgroup = its TM x TN register tiles) and the
    // shared memory the table asks for: the padded layout's.
    REQUIRE(row.workgroup_size == (bm / TILED_TM) * (bn / TILED_TN));
    CHECK(row.variant.requirements.shared_memory_bytes == tiled_shared_bytes(bm, bn, bk));
    CHECK(worst_bank_ways(bn, bk, row.workgroup_size,
                          [](uint32_t r, uint32_t k, uint32_t s) { return tiled_index(r, k, s); }) == 1);
    // The check finds the conflicts of the unpadded layout the kernel had: the 8 rows of ws a
    // subgroup reads are BK * TN = 128 floats apart, one bank.
    CHECK(worst_bank_ways(bn, bk, row.workgroup_size, [](uint32_t r, uint32_t k, uint32_t s) { return r * s + k; }) ==
          8);
    ++rows;
  }
  CHECK(rows > 0);
}

TEST_CASE("defect 6: the tiled matmul kernels step n_in by whole 32-weight chunks", "[vulkan][matmul][defects]") {
  // w_chunk32 stages 32 weights at a time; the lowering refuses a row with another BK.
  int rows = 0;
  for (const vk::KernelRow& row : vk::kernel_table()) {
    if (row.family != vk::KernelFamily::matmul_tiled) continue;
    INFO(vk::kernel_row_name(row));
    CHECK(row.tile[2] > 0);
    CHECK(row.tile[2] % 32 == 0);
    ++rows;
  }
  CHECK(rows > 0);
}

TEST_CASE("defect 6: the cooperative-matrix matmul keeps its accumulators in registers across the K loop",
          "[vulkan][matmul][coopmat][defects]") {
  if (shaders::find("matmul/coopmat_f16_f32") == nullptr) {
    SKIP("cooperative-matrix shaders are not built (VKGRAPH_COOPMAT_SHADERS off)");
  }
  int checked = 0;
  for (const shaders::EmbeddedShader* s : shaders::all()) {
    if (!s->name.starts_with("matmul/coopmat_") || s->name.starts_with("matmul/coopmat_emu_")) continue;
    INFO(s->name);
    CoopMatAccesses a = coopmat_accesses(s->spirv);
    // A and B tiles are loaded from shared memory, the accumulators stored once; never loaded
    // (the kernel loaded and stored them through shared memory every BK step).
    CHECK(a.loads[0] > 0);
    CHECK(a.loads[1] > 0);
    CHECK(a.loads[kMatrixAccumulatorKHR] == 0);
    CHECK(a.stores > 0);
    ++checked;
  }
  CHECK(checked >= 2);
}

TEST_CASE("defect 6: the accumulators a subgroup holds cover the tile in one pass of the K loop",
          "[vulkan][matmul][coopmat][defects]") {
  // 128 invocations, 64 x 64 tiles (the native row): 32-lane subgroups (4 of them) hold 16x16
  // sub-tiles 4 each; 64-lane ones (2) 8 each; with 8x8 shapes four times as many.
  vk::DeviceInfo d;
  d.subgroup_size = 32;
  CHECK(vk::coopmat_accumulators_per_subgroup(d, {16, 16, 16}, 128, 64, 64) == 4);
  CHECK(vk::coopmat_accumulators_per_subgroup(d, {8, 8, 16}, 128, 64, 64) == 16);
  // A device whose subgroups may be wider than the default (size control): the widest counts
  // (fewest subgroups, most tiles each).
  d.subgroup_size_control = true;
  d.min_subgroup_size = 32;
  d.max_subgroup_size = 64;
  CHECK(vk::coopmat_accumulators_per_subgroup(d, {16, 16, 16}, 128, 64, 64) == 8);
  // More subgroups than sub-tiles (the emulated row on lavapipe: 64 invocations of 8 lanes, a
  // 32 x 32 tile of 16x16 sub-tiles): one each, some subgroups idle.
  vk::DeviceInfo cpu;
  cpu.subgroup_size = 8;
  CHECK(vk::coopmat_accumulators_per_subgroup(cpu, {16, 16, 16}, 64, 32, 32) == 1);
  CHECK(vk::coopmat_accumulators_per_subgroup(cpu, {8, 8, 8}, 64, 32, 32) == 2);
}

TEST_CASE("defect 6: the tiled matmul kernels dequantize weights a 32-weight chunk at a time",
          "[vulkan][matmul][coopmat][defects]") {
  // Function names survive in the embedded SPIR-V (glslang keeps OpName): the staging calls
  // w_chunk32 and never the per-weight w_value.
  int checked = 0;
  for (const shaders::EmbeddedShader* s : shaders::all()) {
    if (!s->name.starts_with("matmul/tiled_") && !s->name.starts_with("matmul/coopmat_")) continue;
    INFO(s->name);
    const std::map<std::string, int> calls = called_functions(s->spirv);
    CHECK(calls_starting(calls, "w_chunk32(") > 0);
    CHECK(calls_starting(calls, "w_value(") == 0);
    ++checked;
  }
  CHECK(checked > 10);
  // The scan is not vacuous: a kernel that reads single weights calls w_value.
  bool some_w_value = false;
  for (const shaders::EmbeddedShader* s : shaders::all()) {
    if (calls_starting(called_functions(s->spirv), "w_value(") > 0) some_w_value = true;
  }
  CHECK(some_w_value);
}
