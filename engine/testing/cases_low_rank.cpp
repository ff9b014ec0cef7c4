// Low-rank tails (OpParams::tails, the fused form of LoRA adapters): each matmul form (matmul,
// matmul_add, matmul_cat, matmul_swiglu) for one token, every weight type, tails of rank 8 (read
// four at a time) and 3 (one at a time), on every member or only some. The graphs are built as
// models/arch/projection.h builds them, w x + factor * b (a x), and the fusion pass makes the
// tails; the CPU reference runs the same plan. Then rms_norm_low_rank (graph.h: LowRankNorm):
// a residual sum with an adapted projection, its RMSNorm and adapted projections of the result,
// as a llama layer has them; the CPU reference runs them unfused (cpu_backend.h).

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// A tail adds r products of f16 b and f32 t to each f32 row sum, summed in another order than
// the reference's double: NMSE below 1e-10 at these sizes, as for the plain mat-vec
// (cases_matmul.cpp). One row's tail missing or taken from another member moves NMSE above
// 1e-3 (the tails here are a tenth to a third of the products), so 5e-6 catches it.
constexpr double tail_nmse = 5e-6;

// w x plus factor * b (a x): the graph a LoRA adapter gives one projection.
TensorId adapted(CaseGraph& g, Backend& backend, CaseRng& rng, const std::string& name, DType w_type, int64_t n_out,
                 int64_t n_in, int64_t rank, TensorId x) {
  const TensorId w = add_weight(g, backend, name, w_type, {n_out, n_in}, rng.floats(size_t(n_out * n_in)));
  const TensorId product = g.graph.matmul(w, x);
  if (rank == 0) return product;
  const TensorId a = add_weight(g, backend, name + ".a", DType::F16, {rank, n_in}, rng.floats(size_t(rank * n_in)));
  const TensorId b =
      add_weight(g, backend, name + ".b", DType::F16, {n_out, rank}, rng.floats(size_t(n_out * rank), -0.3f, 0.3f));
  const TensorId low = g.graph.scale(g.graph.matmul(b, g.graph.matmul(a, x)), 0.75f);
  return g.graph.add(product, low);
}

}  // namespace

void add_low_rank_cases(std::vector<OpCase>& cases) {
  // Row lengths in blocks of the weight type (in_elements): 2 and 8 blocks (64 and 256 elements for
  // the plain and 32-element types, 512 and 2048 for the 256-element ones) and 4096 elements.
  struct Shape3 {
    RowLength n_in;
    int64_t n_out, rank;
  };
  const Shape3 shapes[] = {{blocks(2), 7, 8}, {blocks(8), 65, 3}, {elements(4096), 33, 8}};
  auto add_single = [&](DType w_type, Shape3 s, bool residual) {
    const int64_t n_in = in_elements(w_type, s.n_in);
    OpCase c;
    c.name = fmt::format("{} tail w={} n_in={} n_out={} r={}", residual ? "matmul_add" : "matmul", dtype_name(w_type),
                         n_in, s.n_out, s.rank);
    c.op = residual ? "matmul_add" : "matmul";
    c.max_nmse = tail_nmse;
    c.build = [name = c.name, w_type, n_in, s, residual](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId x = add_float_input(g, "x", DType::F32, {1, n_in}, rng.floats(size_t(n_in)));
      TensorId y = adapted(g, backend, rng, "w", w_type, s.n_out, n_in, s.rank, x);
      if (residual) {
        y = g.graph.add(add_float_input(g, "r", DType::F32, {1, s.n_out}, rng.floats(size_t(s.n_out))), y);
      }
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  };
  // q, k, v-like groups: ranks per member (0: no tail), so some members go without.
  struct GroupShape {
    RowLength n_in;
    std::vector<int64_t> rows, ranks;
  };
  const GroupShape cat_shapes[] = {
      {blocks(3), {33, 7, 65}, {8, 8, 8}}, {blocks(8), {65, 33, 33}, {8, 0, 3}}, {blocks(2), {9, 5}, {0, 8}}};
  auto add_cat = [&](DType w_type, const GroupShape& s) {
    const int64_t n_in = in_elements(w_type, s.n_in);
    OpCase c;
    c.name = fmt::format("matmul_cat tail w={} n_in={} rows={} r={}", dtype_name(w_type), n_in, fmt::join(s.rows, "+"),
                         fmt::join(s.ranks, "+"));
    c.op = "matmul_cat";
    c.max_nmse = tail_nmse;
    c.build = [name = c.name, w_type, n_in, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId x = add_float_input(g, "x", DType::F32, {1, n_in}, rng.floats(size_t(n_in)));
      std::vector<TensorId> products;
      for (size_t i = 0; i < s.rows.size(); ++i) {
        products.push_back(adapted(g, backend, rng, fmt::format("w{}", i), w_type, s.rows[i], n_in, s.ranks[i], x));
      }
      add_outputs_read_through_scale(g, products);
      return g;
    };
    cases.push_back(std::move(c));
  };
  auto add_swiglu = [&](DType w_type, RowLength row, int64_t n_ff, int64_t rank_gate, int64_t rank_up) {
    const int64_t n_in = in_elements(w_type, row);
    OpCase c;
    c.name = fmt::format("matmul_swiglu tail w={} n_in={} n_ff={} r={}+{}", dtype_name(w_type), n_in, n_ff, rank_gate,
                         rank_up);
    c.op = "matmul_swiglu";
    c.max_nmse = tail_nmse;
    c.build = [name = c.name, w_type, n_in, n_ff, rank_gate, rank_up](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId x = add_float_input(g, "x", DType::F32, {1, n_in}, rng.floats(size_t(n_in)));
      const TensorId gate = adapted(g, backend, rng, "w_gate", w_type, n_ff, n_in, rank_gate, x);
      const TensorId up = adapted(g, backend, rng, "w_up", w_type, n_ff, n_in, rank_up, x);
      const TensorId y = g.graph.swiglu(gate, up);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  };
  // h = r + o u (o adapted with rank delta_rank, 0: not adapted), y = rms_norm(h) * w, and
  // projections of y with the adapter ranks `ranks` (0: not adapted, none: a plain head); h and
  // the projections are the outputs.
  struct NormShape {
    int64_t n, n_u, delta_rank;
    std::vector<int64_t> ranks;
  };
  const NormShape norm_shapes[] = {{256, 96, 8, {8, 8, 8}},       {96, 768, 3, {}},
                                   {64, 64, 0, {8, 3}},           {576, 1536, 8, {16}},
                                   {4096, 256, 64, {64, 64, 64}}, {160, 32, 8, {0, 5, 0}}};
  auto add_norm = [&](const NormShape& s) {
    OpCase c;
    c.name = fmt::format("rms_norm_low_rank n={} n_u={} delta r={} products r={}", s.n, s.n_u, s.delta_rank,
                         s.ranks.empty() ? std::string("none") : fmt::format("{}", fmt::join(s.ranks, "+")));
    c.op = "rms_norm_low_rank";
    // Sums of f16 times f32 in another order than the reference's (and the delta added after the
    // residual rather than before): as the tails, far below the error of a row lost or misplaced.
    c.max_nmse = tail_nmse;
    c.build = [name = c.name, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId r = add_float_input(g, "r", DType::F32, {1, s.n}, rng.floats(size_t(s.n)));
      const TensorId u = add_float_input(g, "u", DType::F32, {1, s.n_u}, rng.floats(size_t(s.n_u)));
      const TensorId h = g.graph.add(r, adapted(g, backend, rng, "o", DType::Q8_0, s.n, s.n_u, s.delta_rank, u));
      const TensorId w = add_weight(g, backend, "norm", DType::F32, {s.n}, rng.floats(size_t(s.n), 0.5f, 1.5f));
      const TensorId y = g.graph.mul(g.graph.rms_norm(h, 1e-5f), w);
      std::vector<TensorId> outputs{h};
      for (size_t i = 0; i < s.ranks.size(); ++i) {
        outputs.push_back(
            adapted(g, backend, rng, fmt::format("p{}", i), DType::Q4_0, 32 + 16 * int64_t(i), s.n, s.ranks[i], y));
      }
      if (s.ranks.empty()) {
        const TensorId head = add_weight(g, backend, "head", DType::Q8_0, {40, s.n}, rng.floats(size_t(40 * s.n)));
        outputs.push_back(g.graph.matmul(head, y));
      }
      add_outputs_read_through_scale(g, outputs);
      return g;
    };
    cases.push_back(std::move(c));
  };
  for (const NormShape& s : norm_shapes) add_norm(s);
  for (DType w_type : weight_types()) {
    for (const Shape3& s : shapes) {
      add_single(w_type, s, false);
      add_single(w_type, s, true);
    }
    for (const GroupShape& s : cat_shapes) add_cat(w_type, s);
    add_swiglu(w_type, blocks(3), 33, 8, 8);
    add_swiglu(w_type, blocks(8), 65, 0, 3);
  }
}

}  // namespace vkgraph::testing
