// Element-wise and row-wise cases: rms_norm (plain and fused with its weight), silu/swiglu
// (direct and fused), gelu (and GeGLU), softcap, add/mul with broadcasting, scale, softmax, argmax, convert, views.

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <limits>

#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// One correctly rounded f32 operation per element on both sides (a*b, a+b, x*s, f32<->f16 with
// round to nearest even, plain copies): bit-identical results. The bound only leaves room for
// subnormals a device flushes to zero.
constexpr double exact_nmse = 1e-12;

// f32 sum of squares over up to 4096 elements and inversesqrt (2 ulp in Vulkan): relative
// errors ~1e-6 at worst, NMSE < 1e-11. A wrong row or a missing eps shows as >= 1e-6.
constexpr double norm_nmse = 1e-9;

// exp in Vulkan is accurate to 3 + 2|x| ulp; silu and softmax then divide once: relative
// errors ~1e-6, NMSE < 1e-11.
constexpr double transcendental_nmse = 1e-9;

// Argmax is an index: it must match exactly (the runner counts any difference as NMSE 1).
constexpr double argmax_nmse = 0.0;

const Shape row_shapes[] = {{1, 1}, {1, 7}, {7, 33}, {33, 257}, {4, 4096}, {3, 5, 64}};

std::string shape_name(const Shape& shape) { return fmt::format("{}", fmt::join(shape, "x")); }

size_t count(const Shape& s) { return size_t(element_count(s)); }

// A case whose graph is `make(g, x)` over one random f32 input x of `shape`.
void add_unary(std::vector<OpCase>& cases, std::string name, std::string op, double bound, Shape shape,
               std::function<TensorId(CaseGraph&, Backend&, CaseRng&, TensorId)> make) {
  OpCase c;
  c.name = std::move(name);
  c.op = std::move(op);
  c.max_nmse = bound;
  c.build = [name = c.name, shape, make](Backend& backend) {
    CaseRng rng(name);
    CaseGraph g;
    const TensorId x = add_float_input(g, "x", DType::F32, shape, rng.floats(count(shape), -3.0f, 3.0f));
    const TensorId y = make(g, backend, rng, x);
    g.graph.mark_output(y);
    g.outputs.push_back(y);
    return g;
  };
  cases.push_back(std::move(c));
}

void add_norm_cases(std::vector<OpCase>& cases) {
  for (const Shape& shape : row_shapes) {
    const std::string dims = shape_name(shape);
    add_unary(cases, "rms_norm " + dims, "rms_norm", norm_nmse, shape,
              [](CaseGraph& g, Backend&, CaseRng&, TensorId x) { return g.graph.rms_norm(x, 1e-5f); });
    // mul(rms_norm(x), w[n]) is fused into rms_norm_mul by the plan.
    add_unary(cases, "rms_norm_mul " + dims, "rms_norm_mul", norm_nmse, shape,
              [shape](CaseGraph& g, Backend& backend, CaseRng& rng, TensorId x) {
                const int64_t n = shape.back();
                const TensorId w = add_weight(g, backend, "w", DType::F32, {n}, rng.floats(size_t(n), 0.5f, 1.5f));
                return g.graph.mul(g.graph.rms_norm(x, 1e-6f), w);
              });
  }
}

void add_activation_cases(std::vector<OpCase>& cases) {
  for (const Shape& shape : row_shapes) {
    const std::string dims = shape_name(shape);
    add_unary(cases, "silu " + dims, "silu", transcendental_nmse, shape,
              [](CaseGraph& g, Backend&, CaseRng&, TensorId x) { return g.graph.silu(x); });
    add_unary(cases, "swiglu " + dims, "swiglu", transcendental_nmse, shape,
              [shape](CaseGraph& g, Backend&, CaseRng& rng, TensorId gate) {
                const TensorId up = add_float_input(g, "up", DType::F32, shape, rng.floats(count(shape)));
                return g.graph.swiglu(gate, up);
              });
    // mul(silu(gate), up) is fused into swiglu by the plan.
    add_unary(cases, "swiglu fused " + dims, "swiglu", transcendental_nmse, shape,
              [shape](CaseGraph& g, Backend&, CaseRng& rng, TensorId gate) {
                const TensorId up = add_float_input(g, "up", DType::F32, shape, rng.floats(count(shape)));
                return g.graph.mul(g.graph.silu(gate), up);
              });
    for (float scale : {1.0f, 0.125f}) {
      add_unary(cases, fmt::format("softmax scale={} {}", scale, dims), "softmax", transcendental_nmse, shape,
                [scale](CaseGraph& g, Backend&, CaseRng&, TensorId x) { return g.graph.softmax(x, scale); });
    }
    // Gemma's GeGLU gate (tanh-form GELU), direct and as the FFN uses it, and soft-capping (cap
    // 2 against inputs in [-3, 3]: the tanh bends every value, so a missing or misplaced cap
    // shows). tanh in Vulkan is within a few ulp of exact as exp is.
    add_unary(cases, "gelu " + dims, "gelu", transcendental_nmse, shape,
              [](CaseGraph& g, Backend&, CaseRng&, TensorId x) { return g.graph.gelu(x); });
    add_unary(cases, "geglu " + dims, "gelu", transcendental_nmse, shape,
              [shape](CaseGraph& g, Backend&, CaseRng& rng, TensorId gate) {
                const TensorId up = add_float_input(g, "up", DType::F32, shape, rng.floats(count(shape)));
                return g.graph.mul(g.graph.gelu(gate), up);
              });
    add_unary(cases, "softcap " + dims, "softcap", transcendental_nmse, shape,
              [](CaseGraph& g, Backend&, CaseRng&, TensorId x) { return g.graph.softcap(x, 2.0f); });
    add_unary(cases, "scale " + dims, "scale", exact_nmse, shape,
              [](CaseGraph& g, Backend&, CaseRng&, TensorId x) { return g.graph.scale(x, -0.375f); });
  }
}

// Rows with masked (-inf) scores, as attention-style masks make them: rows entirely -inf are
// defined as zeros on every backend (max-subtraction alone gives -inf - -inf = NaN), partly
// masked rows give their masked entries exactly 0. A backend that computes NaN for a full row
// fails through the NaN-safe comparison whatever the bound.
void add_masked_softmax_case(std::vector<OpCase>& cases) {
  const Shape shape = {9, 257};
  OpCase c;
  c.name = "softmax masked rows " + shape_name(shape);
  c.op = "softmax";
  c.max_nmse = transcendental_nmse;
  c.build = [name = c.name, shape](Backend&) {
    CaseRng rng(name);
    std::vector<float> x = rng.floats(count(shape), -3.0f, 3.0f);
    const auto n = size_t(shape.back());
    const float ninf = -std::numeric_limits<float>::infinity();
    for (size_t row : {size_t(0), size_t(4), size_t(8)}) std::fill_n(x.begin() + std::ptrdiff_t(row * n), n, ninf);
    for (size_t i = 0; i < n; i += 3) x[2 * n + i] = ninf;  // row 2: every third score masked
    for (size_t i = 1; i < n; ++i) x[6 * n + i] = ninf;     // row 6: one visible score
    CaseGraph g;
    const TensorId y = g.graph.softmax(add_float_input(g, "x", DType::F32, shape, x), 0.125f);
    g.graph.mark_output(y);
    g.outputs.push_back(y);
    return g;
  };
  cases.push_back(std::move(c));
}

void add_binary_cases(std::vector<OpCase>& cases) {
  struct Pair {
    Shape a, b;
  };
  const Pair pairs[] = {
      {{1}, {1}},         {{257}, {257}},       {{7, 33}, {33}}, {{7, 33}, {7, 33}}, {{3, 5, 64}, {5, 64}},
      {{3, 5, 64}, {64}}, {{64, 4096}, {4096}},
  };
  for (OpKind op : {OpKind::add, OpKind::mul}) {
    for (const Pair& p : pairs) {
      const std::string opn = op_name(op);
      add_unary(cases, fmt::format("{} a={} b={}", opn, shape_name(p.a), shape_name(p.b)), opn, exact_nmse, p.a,
                [op, p](CaseGraph& g, Backend&, CaseRng& rng, TensorId a) {
                  const TensorId b = add_float_input(g, "b", DType::F32, p.b, rng.floats(count(p.b)));
                  return op == OpKind::add ? g.graph.add(a, b) : g.graph.mul(a, b);
                });
    }
  }
}

void add_argmax_cases(std::vector<OpCase>& cases) {
  const Shape shapes[] = {{1, 1}, {1, 7}, {7, 33}, {3, 32000}, {33, 257}};
  for (const Shape& shape : shapes) {
    OpCase c;
    c.name = "argmax " + shape_name(shape);
    c.op = "argmax";
    c.max_nmse = argmax_nmse;
    c.build = [name = c.name, shape](Backend&) {
      CaseRng rng(name);
      CaseGraph g;
      const auto rows = size_t(shape[0]), n = size_t(shape[1]);
      std::vector<float> x = rng.floats(rows * n);
      // Plant ties: the maximum of some rows appears twice; the first index must win.
      for (size_t r = 0; r < rows; r += 2) {
        if (n < 3) break;
        const size_t first = size_t(rng.below(int32_t(n - 1)));
        const size_t second = first + 1 + size_t(rng.below(int32_t(n - 1 - first)));
        x[r * n + first] = x[r * n + second] = 2.0f;
      }
      const TensorId in = add_float_input(g, "x", DType::F32, shape, x);
      const TensorId y = g.graph.argmax(in);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  }
}

void add_convert_and_view_cases(std::vector<OpCase>& cases) {
  const Shape shapes[] = {{1}, {7, 33}, {257, 65}};
  for (const Shape& shape : shapes) {
    for (auto [from, to] : {std::pair{DType::F32, DType::F16}, std::pair{DType::F16, DType::F32}}) {
      OpCase c;
      c.name = fmt::format("convert {}->{} {}", dtype_name(from), dtype_name(to), shape_name(shape));
      c.op = "convert";
      c.max_nmse = exact_nmse;
      // Init-captures: clang before 16 cannot capture structured bindings (the fuzz build uses clang 14).
      c.build = [name = c.name, shape, from = from, to = to](Backend&) {
        CaseRng rng(name);
        CaseGraph g;
        const TensorId x = add_float_input(g, "x", from, shape, rng.floats(count(shape), -100.0f, 100.0f));
        const TensorId y = g.graph.convert(x, to);
        g.graph.mark_output(y);
        g.outputs.push_back(y);
        return g;
      };
      cases.push_back(std::move(c));
    }
  }

  // Views: a row range of an input read back directly (the plan copies it into the output), and
  // a reshape + row range of an intermediate feeding another op (offsets into the arena).
  struct ViewShape {
    int64_t a, b, c, first, count;
  };
  const ViewShape views[] = {{1, 1, 1, 0, 1}, {3, 7, 33, 4, 9}, {5, 13, 64, 60, 5}};
  for (const ViewShape& s : views) {
    OpCase c;
    c.name = fmt::format("view rows+reshape {}x{}x{} rows [{}, {})", s.a, s.b, s.c, s.first, s.first + s.count);
    c.op = "view";
    c.max_nmse = exact_nmse;
    c.build = [name = c.name, s](Backend&) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId x = add_float_input(g, "x", DType::F32, {s.a, s.b, s.c}, rng.floats(size_t(s.a * s.b * s.c)));
      const TensorId flat = g.graph.reshape(g.graph.scale(x, 2.0f), {s.a * s.b, s.c});  // arena view
      const TensorId picked = g.graph.rows(flat, s.first, s.count);
      const TensorId bias = add_float_input(g, "bias", DType::F32, {s.c}, rng.floats(size_t(s.c)));
      const TensorId y = g.graph.add(picked, bias);
      const TensorId direct = g.graph.rows(g.graph.reshape(x, {s.a * s.b, s.c}), s.first, s.count);  // input view
      g.graph.mark_output(y);
      g.graph.mark_output(direct);
      g.outputs = {y, direct};
      return g;
    };
    cases.push_back(std::move(c));
  }
}

}  // namespace

void add_elementwise_cases(std::vector<OpCase>& cases) {
  add_norm_cases(cases);
  add_activation_cases(cases);
  add_masked_softmax_case(cases);
  add_binary_cases(cases);
  add_argmax_cases(cases);
  add_convert_and_view_cases(cases);
}

}  // namespace vkgraph::testing
