// A product plus the residual, then the RMS norm of that sum, as a llama-style layer ends each
// half: matmul_add and rms_norm_mul, which the Vulkan backend lowers to one dispatch on CPU-class
// devices (engine/backend/vulkan/lowering_add_norm.cpp). Every weight type, one token and decode
// rows of several (the batched engine's steps: up to 8 tokens share the dispatch, more keep the
// norm apart), odd row counts. Both the sum and the normalized rows are compared.

#include <fmt/format.h>

#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// As the other matmul cases (cases_matmul.cpp): f32 sums in another order than the double
// reference differ by NMSE < 1e-10; the norm scales each row by one factor, which keeps that
// relative error. One wrong element of a row moves NMSE above 1e-4.
constexpr double add_norm_nmse = 5e-6;

struct AddNormShape {
  int64_t m;
  RowLength n_in;
  int64_t n_out;
};

}  // namespace

void add_add_norm_cases(std::vector<OpCase>& cases) {
  const AddNormShape shapes[] = {{1, blocks(2), 7},  {1, blocks(3), 65}, {1, elements(1024), 257},
                                 {3, blocks(1), 33}, {8, blocks(2), 65}, {9, blocks(1), 33}};
  for (DType w_type : weight_types()) {
    for (const AddNormShape& s : shapes) {
      const int64_t n_in = in_elements(w_type, s.n_in);
      OpCase c;
      c.name =
          fmt::format("matmul_add+rms_norm_mul w={} m={} n_in={} n_out={}", dtype_name(w_type), s.m, n_in, s.n_out);
      c.op = "matmul_add";
      c.max_nmse = add_norm_nmse;
      c.weight = w_type;
      c.build = [name = c.name, w_type, s, n_in](Backend& backend) {
        CaseRng rng(name);
        CaseGraph g;
        // Several tokens form matmul_add only as decode rows (Graph::decode_rows), as in a
        // batched step.
        g.graph.set_decode_rows(s.m > 1);
        const TensorId w = add_weight(g, backend, "w", w_type, {s.n_out, n_in}, rng.floats(size_t(s.n_out * n_in)));
        const TensorId x = add_float_input(g, "x", DType::F32, {s.m, n_in}, rng.floats(size_t(s.m * n_in)));
        const TensorId r = add_float_input(g, "r", DType::F32, {s.m, s.n_out}, rng.floats(size_t(s.m * s.n_out)));
        const TensorId norm_w =
            add_weight(g, backend, "norm_w", DType::F32, {s.n_out}, rng.floats(size_t(s.n_out), 0.5f, 1.5f));
        const TensorId sum = g.graph.add(g.graph.matmul(w, x), r);
        const TensorId normalized = g.graph.mul(g.graph.rms_norm(sum, 1e-5f), norm_w);
        // The sum is an output itself (its readers would otherwise come between the two steps);
        // the normalized rows are read through a scale by 1.
        g.graph.mark_output(sum);
        g.outputs.push_back(sum);
        add_outputs_read_through_scale(g, {normalized});
        return g;
      };
      cases.push_back(std::move(c));
    }
  }
}

}  // namespace vkgraph::testing
