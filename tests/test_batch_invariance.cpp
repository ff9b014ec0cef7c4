// The kernel-level ground of batch invariance (docs/serving.md): on the device, a token's row of
// a paged attention or of a matrix product is bit for bit the same whatever else is in the step:
// alone in the smallest step, or at another place among many other tokens of other sequences.
// And the paged kernel's tiles and chunks are chosen without looking at the step's size.

#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <cstring>
#include <numeric>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/attention_paged.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "engine/testing/case_data.h"
#include "tests/forced_rows.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;

namespace {

std::vector<float> run_graph(Backend& backend, Graph graph, TensorId out,
                             const std::vector<std::pair<TensorId, std::vector<std::byte>>>& inputs) {
  graph.mark_output(out);
  const Plan plan = Plan::build(std::move(graph));
  auto exe = backend.prepare(plan);
  for (const auto& [id, bytes] : inputs) exe->set_input(id, bytes);
  exe->run();
  std::vector<float> y(size_t(element_count(plan.graph().node(out).shape)));
  exe->read_output(out, std::as_writable_bytes(std::span<float>(y)));
  return y;
}

template <typename T>
std::vector<std::byte> bytes_of(const std::vector<T>& v) {
  const auto* p = reinterpret_cast<const std::byte*>(v.data());
  return {p, p + v.size() * sizeof(T)};
}

// A pool of 40 blocks of 5 positions (f16), 9 query heads on 3 kv heads (smollm2's ratio), 64
// dimensions; three sequences with tables into it. `queries` are (row, position) pairs; the
// result is one [n_head * d] row per query.
struct PagedSetup {
  static constexpr int64_t n_head = 9, n_kv = 3, d = 64, bs = 5, n_blocks = 40, max_blocks = 12;
  std::shared_ptr<Storage> k, v;
  std::vector<int32_t> table;

  explicit PagedSetup(Backend& backend) {
    testing::CaseRng rng(uint64_t(7));
    const size_t n = size_t(n_blocks * bs * n_kv * d);
    k = backend.allocate_state(n * 2);
    v = backend.allocate_state(n * 2);
    backend.write_storage(*k, 0, testing::encode(DType::F16, rng.floats(n), size_t(d)));
    backend.write_storage(*v, 0, testing::encode(DType::F16, rng.floats(n), size_t(d)));
    table.assign(size_t(3 * max_blocks), -1);
    for (int64_t b = 0; b < max_blocks; ++b) {
      table[size_t(b)] = int32_t(b);                            // sequence 0: blocks 0..11
      table[size_t(max_blocks + b)] = int32_t(39 - b);          // sequence 1: from the end
      table[size_t(2 * max_blocks + b)] = int32_t(b * 3 % 40);  // sequence 2: shares 0, 3, 6, 9 with 0
    }
  }

  std::vector<float> run(Backend& backend, const std::vector<std::pair<int32_t, int32_t>>& queries) {
    const auto m = int64_t(queries.size());
    Graph g;
    const TensorId q = g.input("q", DType::F32, {m, n_head, d});
    const Shape pool{n_blocks * bs, n_kv, d};
    const TensorId kk = g.state("k", DType::F16, pool, k);
    const TensorId vv = g.state("v", DType::F16, pool, v);
    const TensorId t = g.input("table", DType::I32, {3, max_blocks});
    const TensorId rows = g.input("rows", DType::I32, {m});
    const TensorId pos = g.input("pos", DType::I32, {m});
    AttentionParams params;
    params.scale = 0.125f;
    params.block_size = int32_t(bs);
    const TensorId y = g.paged_attention(q, kk, vv, t, rows, pos, params);
    std::vector<float> qv;
    std::vector<int32_t> r, p;
    for (const auto& [row, position] : queries) {
      // Each query's vector is a function of (row, position) only, so the same query can be
      // placed anywhere.
      testing::CaseRng rng(uint64_t(row * 100000 + position));
      const std::vector<float> one = rng.floats(size_t(n_head * d));
      qv.insert(qv.end(), one.begin(), one.end());
      r.push_back(row);
      p.push_back(position);
    }
    return run_graph(backend, std::move(g), y,
                     {{q, bytes_of(qv)}, {t, bytes_of(table)}, {rows, bytes_of(r)}, {pos, bytes_of(p)}});
  }
};

void check_paged_rows_do_not_depend_on_the_batch(Backend& backend) {
  PagedSetup setup(backend);
  const size_t row_floats = size_t(PagedSetup::n_head * PagedSetup::d);
  // A crowded step: a prompt chunk of sequence 0 (positions 20-47), decode tokens of sequences
  // 1 and 2, padding, and a chunk of sequence 2 that starts mid-run.
  std::vector<std::pair<int32_t, int32_t>> crowded;
  for (int32_t p = 20; p < 48; ++p) crowded.emplace_back(0, p);
  crowded.emplace_back(1, 57);
  crowded.emplace_back(-1, 0);
  crowded.emplace_back(2, 31);
  for (int32_t p = 3; p < 17; ++p) crowded.emplace_back(2, p);
  const std::vector<float> all = setup.run(backend, crowded);
  for (const size_t i : {size_t(0), size_t(5), size_t(27), size_t(28), size_t(30), size_t(31), size_t(44)}) {
    INFO("query " << i << " (row " << crowded[i].first << ", position " << crowded[i].second << ")");
    // Alone, padded to four queries as the engine's smallest step is, and among three others
    // of its own sequence that start its run elsewhere.
    const std::vector<std::pair<int32_t, int32_t>> alone{crowded[i], {-1, 0}, {-1, 0}, {-1, 0}};
    const std::vector<float> a = setup.run(backend, alone);
    CHECK(std::memcmp(a.data(), all.data() + i * row_floats, row_floats * sizeof(float)) == 0);
    const int32_t pos = crowded[i].second;
    if (crowded[i].first >= 0 && pos >= 2) {
      const std::vector<std::pair<int32_t, int32_t>> shifted{
          {crowded[i].first, pos - 2}, {crowded[i].first, pos - 1}, crowded[i], {2, 9}};
      const std::vector<float> s = setup.run(backend, shifted);
      CHECK(std::memcmp(s.data() + 2 * row_floats, all.data() + i * row_floats, row_floats * sizeof(float)) == 0);
    }
  }
}

// A token's row of a matrix product, alone in a 4-token step and at row 13 of a 64-token step
// (another tile of the matrix kernel, other neighbours): the same bits. decode_rows: the graphs
// the batched engine builds (Graph::decode_rows), whose rows must also be a one-token step's.
// A matrix product as a layer has it: alone, with a residual added (matmul_add when fused), that
// sum normalized next (rms_norm_mul, which a CPU-class device runs in the matmul_add's dispatch for
// steps of up to 8 tokens: engine/backend/vulkan/lowering_add_norm.cpp) or as the gate and up
// products of a SwiGLU (matmul_swiglu when fused).
enum class ProductForm { plain, residual, residual_norm, swiglu };

const char* form_name(ProductForm f) {
  switch (f) {
    case ProductForm::plain:
      return "product";
    case ProductForm::residual:
      return "product + residual";
    case ProductForm::residual_norm:
      return "rms_norm_mul(product + residual)";
    case ProductForm::swiglu:
      return "swiglu";
  }
  return "?";
}

// Whether the device has the combined matmul_add + norm row for weights of `w_type` (a CPU-class
// device with subgroups of at least 8).
bool has_add_norm_row(Backend& backend, DType w_type) {
  const auto* vulkan = dynamic_cast<const vk::VulkanBackend*>(&backend);
  if (vulkan == nullptr) return false;
  try {
    vk::select_kernel_row(vulkan->context()->info(),
                          {OpKind::matmul_add, w_type, DType::F32, vk::KernelForm::vector_norm});
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Whether the Vulkan executable of `plan` runs a matmul_add that also performs the norm after it.
bool runs_add_norm(Backend& backend, const Plan& plan) {
  auto exe = backend.prepare(plan);
  const auto* vulkan = dynamic_cast<const vk::VulkanExecutable*>(exe.get());
  return vulkan != nullptr && vulkan->describe_dispatches(false).find("matmul/rows_add_norm_") != std::string::npos;
}

void check_matmul_rows_do_not_depend_on_the_batch(Backend& backend, bool decode_rows) {
  for (DType w_type : {DType::Q4_0, DType::Q8_0, DType::F16, DType::F32}) {
    for (ProductForm form :
         {ProductForm::plain, ProductForm::residual, ProductForm::residual_norm, ProductForm::swiglu}) {
      INFO("weights " << dtype_name(w_type) << ", " << form_name(form));
      const int64_t n_in = 576, n_out = 200;  // smollm2's width; rows not a multiple of any tile
      testing::CaseRng rng(uint64_t(11));
      const std::vector<float> w_values = rng.floats(size_t(n_in * n_out));
      const std::shared_ptr<Storage> w = backend.upload(testing::encode(w_type, w_values, size_t(n_in)));
      const std::shared_ptr<Storage> w_up =
          backend.upload(testing::encode(w_type, rng.floats(w_values.size()), size_t(n_in)));
      const std::vector<float> x_all = rng.floats(size_t(64 * n_in));
      const std::vector<float> r_all = rng.floats(size_t(64 * n_out));
      const std::vector<float> norm_w = rng.floats(size_t(n_out), 0.5f, 1.5f);
      // The result for these tokens of x_all (and their rows of r_all); -1: a row of zeros.
      auto product = [&](const std::vector<int>& tokens) {
        const auto m = int64_t(tokens.size());
        std::vector<float> x(size_t(m * n_in), 0.0f), r(size_t(m * n_out), 0.0f);
        for (size_t i = 0; i < tokens.size(); ++i) {
          if (tokens[i] < 0) continue;
          std::copy_n(x_all.begin() + tokens[i] * n_in, n_in, x.begin() + int64_t(i) * n_in);
          std::copy_n(r_all.begin() + tokens[i] * n_out, n_out, r.begin() + int64_t(i) * n_out);
        }
        Graph g;
        g.set_decode_rows(decode_rows);
        const TensorId wt = g.weight("w", w_type, {n_out, n_in}, w);
        const TensorId xt = g.input("x", DType::F32, {m, n_in});
        TensorId y = g.matmul(wt, xt);
        std::vector<std::pair<TensorId, std::vector<std::byte>>> inputs{{xt, bytes_of(x)}};
        if (form == ProductForm::residual || form == ProductForm::residual_norm) {
          const TensorId rt = g.input("r", DType::F32, {m, n_out});
          y = g.add(y, rt);
          inputs.emplace_back(rt, bytes_of(r));
        }
        if (form == ProductForm::residual_norm) {
          const TensorId nw = g.input("norm_w", DType::F32, {n_out});
          y = g.mul(g.rms_norm(y, 1e-5f), nw);
          inputs.emplace_back(nw, bytes_of(norm_w));
        } else if (form == ProductForm::swiglu) {
          y = g.swiglu(y, g.matmul(g.weight("w_up", w_type, {n_out, n_in}, w_up), xt));
        }
        // Decode rows of several tokens run the fused forms, as one token does.
        if (decode_rows && form != ProductForm::plain) {
          Graph copy = g;
          copy.mark_output(y);
          const Plan plan = Plan::build(std::move(copy), backend.plan_options());
          const std::vector<Step>& steps = plan.steps();
          if (form == ProductForm::residual_norm) {
            REQUIRE(steps.size() >= 2);
            CHECK(plan.graph().node(steps[steps.size() - 2].node).op == OpKind::matmul_add);
            CHECK(plan.graph().node(steps.back().node).op == OpKind::rms_norm_mul);
            // Up to 8 tokens in one dispatch on a CPU-class device (so the 64-token step's
            // separate norm must give the same bits), two elsewhere.
            const bool one_dispatch = m <= 8 && has_add_norm_row(backend, w_type);
            CHECK(runs_add_norm(backend, plan) == one_dispatch);
          } else {
            const OpKind fused = form == ProductForm::residual ? OpKind::matmul_add : OpKind::matmul_swiglu;
            CHECK(plan.graph().node(steps.back().node).op == fused);
          }
        }
        return run_graph(backend, std::move(g), y, inputs);
      };
      std::vector<int> all(64);
      std::iota(all.begin(), all.end(), 0);
      const std::vector<float> big = product(all);
      const std::vector<float> alone = product({13, -1, -1, -1});  // token 13 first, then zeros
      CHECK(std::memcmp(alone.data(), big.data() + 13 * n_out, size_t(n_out) * sizeof(float)) == 0);
      if (decode_rows) {  // and a one-token step's bits
        const std::vector<float> one = product({13});
        CHECK(std::memcmp(one.data(), big.data() + 13 * n_out, size_t(n_out) * sizeof(float)) == 0);
      }
    }
  }
}

}  // namespace

TEST_CASE("batch invariance: a paged attention row does not depend on the other queries (cpu)", "[serving][batch]") {
  auto backend = create_backend("cpu");
  check_paged_rows_do_not_depend_on_the_batch(*backend);
}

TEST_CASE("batch invariance: a paged attention row does not depend on the other queries (vulkan)",
          "[serving][batch][vulkan]") {
  test::ValidationGuard guard;
  auto backend = create_backend("vulkan");
  SECTION("the row this device chooses") { check_paged_rows_do_not_depend_on_the_batch(*backend); }
  // Both kernels, whichever this device picks: the tiled one (GPUs) and the direct one (CPU-class).
  for (const char* shader : {"attention/paged_kv_f16", "attention/paged_direct_kv_f16"}) {
    DYNAMIC_SECTION("forced " << shader) {
      vk::ForcedKernels force({shader});
      auto forced = create_backend("vulkan");
      check_paged_rows_do_not_depend_on_the_batch(*forced);
    }
  }
}

TEST_CASE("paged attention: both kernels pass the paged cases on this device when forced", "[serving][batch][vulkan]") {
  // This CPU driver chooses the direct rows; the tiled ones, what GPUs run, are forced here too,
  // so that both meet the CPU reference on every paged case (block sizes, GQA, windows, shared
  // blocks, padding, long decodes).
  test::ValidationGuard guard;
  // (#0: the tiled kernel's 32 KiB rows; the 16 KiB ones refuse GQA groups they cannot tile.)
  for (const char* shader : {"attention/paged_kv_f16#0", "attention/paged_kv_f32#0", "attention/paged_direct_kv_f16",
                             "attention/paged_direct_kv_f32"}) {
    INFO(shader);
    // Every case of the pool's type: most are f16, two f32 (cases_paged.cpp).
    const size_t wanted = std::string_view(shader).find("f32") != std::string_view::npos ? 2u : 10u;
    CHECK(test::check_forced_row_cases(shader, "paged_attention") >= wanted);
  }
}

TEST_CASE("batch invariance: a matrix product's row does not depend on the other tokens (vulkan)",
          "[serving][batch][vulkan]") {
  test::ValidationGuard guard;
  auto backend = create_backend("vulkan");
  SECTION("prefill kernels") { check_matmul_rows_do_not_depend_on_the_batch(*backend, false); }
  SECTION("decode rows (the batched engine's steps)") { check_matmul_rows_do_not_depend_on_the_batch(*backend, true); }
}

TEST_CASE("paged attention tiles: chosen from the heads, the table and the device only", "[serving][batch]") {
  vk::DeviceInfo cpu;
  cpu.type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  vk::DeviceInfo gpu;
  gpu.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  // smollm2: 3 query heads per kv head, 64 dimensions, 32 KiB: 30 rows (10 tokens), tiles of 16.
  const vk::PagedTiles t = vk::choose_paged_tiles(64, 3, 4096, 32 * 1024, cpu);
  CHECK(t.rows == 30);
  CHECK(t.keys == 16);
  CHECK(t.n_chunks == 1);  // a CPU device: no split
  CHECK(t.chunk_len >= 4096);
  CHECK(t.chunk_len % t.keys == 0);
  // A GPU splits a long table into at most 8 chunks of a multiple of the key tile, none shorter
  // than 256 positions.
  const vk::PagedTiles g = vk::choose_paged_tiles(64, 3, 4096, 32 * 1024, gpu);
  CHECK(g.n_chunks == 8);
  CHECK(g.chunk_len == 512);
  CHECK(vk::choose_paged_tiles(64, 3, 300, 32 * 1024, gpu).n_chunks == 1);
  const vk::PagedTiles odd = vk::choose_paged_tiles(64, 3, 1000, 32 * 1024, gpu);
  CHECK(odd.chunk_len % odd.keys == 0);
  CHECK(uint64_t(odd.chunk_len) * odd.n_chunks >= 1000);
  // 256 dimensions at the Vulkan minimum of 16 KiB: one token's 4 heads, narrower key tiles.
  const vk::PagedTiles wide = vk::choose_paged_tiles(256, 4, 512, 16 * 1024, cpu);
  CHECK(wide.rows == 4);
  CHECK(wide.keys < 16);
  CHECK(wide.keys > 0);
  // Nothing fits: no rows, and the lowering names the limit.
  CHECK(vk::choose_paged_tiles(256, 32, 512, 16 * 1024, cpu).rows == 0);
}
