// Split-K decode attention: how the cache is cut into chunks (a pure function of the shapes and
// the device), which addresses a subgroup reads keys from and which banks it reads the key stage
// from (attention/split_key_stage.h, the index math the shader compiles), and on this device that a long decode really
// runs the split pass and the reduce pass with its scratch, while a short one stays one dispatch, both agreeing with
// the CPU reference. More values against the CPU reference: the attention op cases.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/vulkan/attention_split.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "shaders/attention/split_key_stage.h"
#include "tests/closeness_checks.h"
#include "tests/forced_rows.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using namespace vkgraph::vk;
using Catch::Matchers::ContainsSubstring;

namespace {

DeviceInfo fake_device(VkPhysicalDeviceType type) {
  DeviceInfo d;
  d.name = "fake device";
  d.type = type;
  d.shader_int64 = true;  // every desktop GPU and lavapipe (the row kernels' 64-bit loads)
  return d;
}

// Every slot is in exactly one chunk, chunks are whole workgroups of keys, none is empty.
void check_cover(const DecodeSplit& s, uint32_t n_slots) {
  CHECK(s.chunk_len % kSplitWorkgroup == 0);
  CHECK(uint64_t(s.chunk_len) * s.n_chunks >= n_slots);
  CHECK(uint64_t(s.chunk_len) * (s.n_chunks - 1) < std::max(n_slots, 1u));
}

struct DecodeRun {
  std::vector<float> out;
  std::vector<std::string> shaders;
  std::vector<uint64_t> groups;  // per dispatch, x * y
  std::string described;
};

// Decode of one row of 8 query heads over `n_slots` filled slots of `n_kv_head` kv heads
// (head_dim 64, f16 cache) on `backend`; on Vulkan, with the rows the kernel table picks and the
// dispatches they lowered to.
DecodeRun run_decode(Backend& backend, int64_t n_slots, int64_t n_kv_head) {
  testing::CaseRng rng{uint64_t(n_slots * 7 + n_kv_head)};
  testing::CaseGraph g;
  const int64_t d = 64, n_head = 8;
  const TensorId q = testing::add_float_input(g, "q", DType::F32, {1, n_head, d}, rng.floats(size_t(n_head * d)));
  const Shape cache{n_slots, n_kv_head, d};
  const TensorId k =
      testing::add_state(g, backend, "k", DType::F16, cache, rng.floats(size_t(n_slots * n_kv_head * d)));
  const TensorId v =
      testing::add_state(g, backend, "v", DType::F16, cache, rng.floats(size_t(n_slots * n_kv_head * d)));
  std::vector<int32_t> kv_pos(static_cast<size_t>(n_slots));
  std::iota(kv_pos.begin(), kv_pos.end(), 0);
  const TensorId y = g.graph.attention(q, k, v, testing::add_i32_input(g, "q_pos", {int32_t(n_slots - 1)}),
                                       testing::add_i32_input(g, "kv_pos", kv_pos), AttentionParams{0.125f, 0});
  g.graph.mark_output(y);
  const Plan plan = Plan::build(std::move(g.graph));
  std::unique_ptr<Executable> exe = backend.prepare(plan);
  DecodeRun r;
  if (auto* vulkan = dynamic_cast<VulkanExecutable*>(exe.get())) {
    for (const Dispatch& dispatch : vulkan->dispatches()) {
      r.shaders.emplace_back(dispatch.kernel->variant.shader);
      r.groups.push_back(uint64_t(dispatch.groups[0]) * dispatch.groups[1] * dispatch.groups[2]);
    }
    r.described = vulkan->describe_dispatches();
  }
  for (const auto& [id, data] : g.inputs) exe->set_input(id, data);
  r.out.resize(size_t(n_head * d));
  for (int i = 0; i < 2; ++i) exe->run();  // a replay must give the same result
  exe->read_output(y, std::as_writable_bytes(std::span(r.out)));
  return r;
}

// The bound between the Vulkan decode and the CPU reference, which read the same f16 cache: they
// differ only by summation order and the last bits of exp (f32, ~1e-7 relative per term over
// up to 4096 keys; outputs are averages of values in [-1, 1]). A lost or doubled chunk, a
// mis-scaled partial or a wrong chunk boundary moves outputs by 1e-2 or more.
constexpr double kDecodeBound = 1e-5;

}  // namespace

TEST_CASE("split-K decode: chunks follow the cache length and the device", "[attention][kernels][split]") {
  const DeviceInfo gpu = fake_device(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU);
  const DeviceInfo cpu = fake_device(VK_PHYSICAL_DEVICE_TYPE_CPU);
  // Short caches: one chunk, so one dispatch and no reduce pass, on any device.
  for (uint32_t n_slots : {1u, 17u, 128u, 511u}) {
    for (const DeviceInfo* device : {&gpu, &cpu}) {
      const DecodeSplit s = choose_decode_split(1, 8, 2, n_slots, *device);
      CHECK(s.n_chunks == 1);
      check_cover(s, n_slots);
    }
  }
  // Long caches on a GPU: enough chunks for 256 workgroups, but none shorter than 256 slots.
  const DecodeSplit s4k = choose_decode_split(1, 8, 2, 4096, gpu);
  CHECK(s4k.heads_per_group == 4);
  CHECK(s4k.n_chunks == 16);
  CHECK(s4k.chunk_len == 256);
  CHECK(s4k.workgroups == 2 * 16);
  const DecodeSplit s16k = choose_decode_split(1, 32, 8, 16384, gpu);
  CHECK(s16k.workgroups >= 256);
  CHECK(s16k.n_chunks == 32);
  check_cover(s16k, 16384);
  check_cover(choose_decode_split(1, 8, 8, 1000, gpu), 1000);
  CHECK(choose_decode_split(1, 8, 8, 1000, gpu).n_chunks == 3);
  // Many heads already fill the device: the cache is not cut.
  CHECK(choose_decode_split(1, 256, 256, 4096, gpu).n_chunks == 1);
  // A CPU device asks for a few workgroups per core: a 4096-slot cache of one kv head is cut.
  const DecodeSplit cpu4k = choose_decode_split(1, 8, 1, 4096, cpu);
  CHECK(cpu4k.n_chunks > 1);
  check_cover(cpu4k, 4096);
  // Query heads per workgroup: the largest divisor of the GQA group up to 8.
  CHECK(choose_decode_split(1, 8, 8, 4096, gpu).heads_per_group == 1);
  CHECK(choose_decode_split(1, 32, 1, 4096, gpu).heads_per_group == 8);
  CHECK(choose_decode_split(1, 12, 1, 4096, gpu).heads_per_group == 6);
  CHECK(choose_decode_split(1, 14, 2, 4096, gpu).heads_per_group == 7);
}

TEST_CASE("split-K decode: a subgroup's key loads are contiguous", "[attention][kernels][split]") {
  // Every load step of attention_split.comp's key stage, for the shapes the kernel table serves
  // (head dims 64, 128 and 256, 1 to 8 kv heads, f16 and f32 caches, every kv head, a tensor
  // bound at element 0 or at an odd element, the first and a late step of slots): the 32 lanes
  // of each 32-aligned group of invocations (a subgroup of NVIDIA's width, half of AMD's) read 32
  // consecutive elements. So they touch ceil(32 x element size / 128) lines of 128 bytes, one
  // more where the run straddles a line. Invocations reading their own keys element after element
  // touch 32 lines at each load (slots are n_kv_head x D elements apart).
  namespace ss = shaders::split_stage;
  constexpr uint32_t wg = kSplitWorkgroup, lanes = 32, line = 128;
  static_assert(wg % lanes == 0 && (ss::SPLIT_STAGE_KEYS * ss::SPLIT_STAGE_DIMS) % wg == 0);
  for (uint32_t element : {2u, 4u}) {
    const uint64_t max_lines = (lanes * element + line - 1) / line + 1;
    for (uint32_t d : {64u, 128u, 256u}) {
      for (uint32_t n_kv_head = 1; n_kv_head <= 8; ++n_kv_head) {
        // The first offending group of lanes (the check fails on it) and the most lines any
        // group touched.
        std::string first_bad;
        uint64_t most_lines = 0;
        const uint32_t kv_stride = n_kv_head * d;
        for (uint32_t k_off : {0u, 7u}) {
          for (uint32_t kv_head = 0; kv_head < n_kv_head; ++kv_head) {
            for (uint32_t j0 : {0u, 4096u}) {
              for (uint32_t c0 = 0; c0 < wg; c0 += ss::SPLIT_STAGE_KEYS) {
                for (uint32_t d0 = 0; d0 < d; d0 += ss::SPLIT_STAGE_DIMS) {
                  for (uint32_t step = 0; step < ss::stage_load_steps(wg); ++step) {
                    for (uint32_t t0 = 0; t0 < wg; t0 += lanes) {
                      std::set<uint64_t> elements, lines;
                      bool in_range = true;
                      for (uint32_t t = t0; t < t0 + lanes; ++t) {
                        const uint32_t c = ss::stage_load_key(t, step, wg);
                        const uint32_t dim = d0 + ss::stage_load_dim(t, step, wg);
                        in_range = in_range && c < ss::SPLIT_STAGE_KEYS && dim < d;
                        const uint64_t e = ss::key_index(k_off, j0 + c0 + c, kv_stride, kv_head, d, dim);
                        elements.insert(e);
                        lines.insert(e * element / line);
                      }
                      const uint64_t span = *lines.rbegin() - *lines.begin() + 1;
                      most_lines = std::max(most_lines, span);
                      const bool contiguous =
                          elements.size() == lanes && *elements.rbegin() - *elements.begin() == lanes - 1;
                      if ((!in_range || !contiguous || span > max_lines) && first_bad.empty()) {
                        first_bad = "kv head " + std::to_string(kv_head) + ", k_off " + std::to_string(k_off) +
                                    ", slots from " + std::to_string(j0 + c0) + ", dims from " + std::to_string(d0) +
                                    ", load step " + std::to_string(step) + ", invocations from " + std::to_string(t0) +
                                    ": " + std::to_string(span) + " lines, " +
                                    (contiguous ? "contiguous" : "not contiguous") +
                                    (in_range ? "" : ", outside the stage");
                      }
                    }
                  }
                }
              }
            }
          }
        }
        INFO(element << "-byte cache, D " << d << ", " << n_kv_head << " kv heads; most lines " << most_lines
                     << " (bound " << max_lines << "); first offending load: " << first_bad);
        CHECK(first_bad.empty());
      }
    }
  }
}

TEST_CASE("split-K decode: the key stage is written and read without bank conflicts", "[attention][kernels][split]") {
  // GPUs split shared memory into 32 banks of 4 bytes; lanes of a subgroup reading different
  // words of one bank are served one after another. Loading, 32 aligned lanes write one staged
  // key's 32 consecutive dimensions; computing, the 32 lanes owning keys c0 .. c0 + 31 read one
  // dimension of each: with unpadded rows of 32 floats all of them would hit one bank (32-way).
  namespace ss = shaders::split_stage;
  constexpr uint32_t wg = kSplitWorkgroup, banks = 32;
  for (uint32_t step = 0; step < ss::stage_load_steps(wg); ++step) {
    for (uint32_t t0 = 0; t0 < wg; t0 += banks) {
      std::set<uint32_t> used;
      for (uint32_t t = t0; t < t0 + banks; ++t) {
        used.insert(ss::stage_index(ss::stage_load_key(t, step, wg), ss::stage_load_dim(t, step, wg)) % banks);
      }
      CHECK(used.size() == banks);
    }
  }
  for (uint32_t dd = 0; dd < ss::SPLIT_STAGE_DIMS; ++dd) {
    std::set<uint32_t> used;
    for (uint32_t c = 0; c < ss::SPLIT_STAGE_KEYS; ++c) used.insert(ss::stage_index(c, dd) % banks);
    CHECK(used.size() == banks);
  }
  // The stage fits the row's declared shared memory, which fits the Vulkan minimum (16 KiB),
  // with the queries of 8 heads of 256 dimensions beside it.
  for (DType kv : {DType::F16, DType::F32}) {
    DeviceInfo minimum = fake_device(VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU);
    minimum.storage_buffer_16bit = true;
    minimum.max_shared_memory = 16 * 1024;
    minimum.max_workgroup_invocations = 128;
    minimum.max_workgroup_size[0] = 128;
    minimum.max_storage_buffers_per_stage = 8;
    const KernelRow& row =
        select_kernel_row(minimum, {OpKind::attention, kv, DType::F32, KernelForm::attention_decode});
    CHECK(std::string(row.variant.shader).starts_with("attention/split_kv_"));
    CHECK(row.variant.requirements.shared_memory_bytes >= 8 * 256 * 4 + ss::SPLIT_STAGE_FLOATS * 4);
    CHECK(row.variant.requirements.shared_memory_bytes <= 16 * 1024);
  }
}

TEST_CASE("split-K decode on this device: a long cache runs the split and reduce passes",
          "[vulkan][attention][split]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  VulkanBackend backend(ctx);
  const int64_t n_kv_head = 1;
  const DecodeSplit split = choose_decode_split(1, 8, uint32_t(n_kv_head), 4096, ctx->info());
  REQUIRE(split.n_chunks > 1);
  const DecodeRun run = run_decode(backend, 4096, n_kv_head);
  INFO(run.described);
  REQUIRE(run.shaders.size() == 2);
  CHECK(run.shaders[0] == "attention/split_direct_kv_f16");  // lavapipe: a CPU-class device
  CHECK(run.shaders[1] == "attention/split_reduce");
  CHECK(run.groups[0] == split.workgroups);  // 8 heads share one workgroup per chunk
  CHECK(run.groups[1] == 8);                 // one per (token, head)
  CHECK_THAT(run.described, ContainsSubstring("scratch"));
  cpu::CpuBackend cpu;
  CHECK_CLOSE(testing::elementwise_close(run.out, run_decode(cpu, 4096, n_kv_head).out, kDecodeBound));
}

TEST_CASE("split-K decode on this device: a short cache is one dispatch", "[vulkan][attention][split]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  VulkanBackend backend(ctx);
  const DecodeRun run = run_decode(backend, 128, 2);
  INFO(run.described);
  REQUIRE(run.shaders.size() == 1);
  CHECK(run.shaders[0] == "attention/split_direct_kv_f16");  // lavapipe: a CPU-class device
  CHECK(run.groups[0] == 2);                                 // one per kv head: its 4 query heads share the K/V reads
  cpu::CpuBackend cpu;
  CHECK_CLOSE(testing::elementwise_close(run.out, run_decode(cpu, 128, 2).out, kDecodeBound));
}

TEST_CASE("split-K decode: the staged (GPU) rows pass the attention cases on this device, forced",
          "[vulkan][attention][split]") {
  // This CPU driver chooses the direct rows; the staged ones, what GPUs run, are forced here so
  // that their key stage, rotation at load and empty-slot handling run against the CPU reference.
  test::ValidationGuard guard;
  for (const char* row : {"attention/split_kv_f16", "attention/split_kv_f32"}) {
    INFO(row);
    // The decode cases: rotations, windows, soft-caps, empty and shuffled slots.
    CHECK(test::check_forced_row_cases(row, "attention") >= 10);
  }
}
