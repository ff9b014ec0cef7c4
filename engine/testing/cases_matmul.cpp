// matmul and get_rows cases: every weight type of engine/core/weight_types.def, f32 and f16
// activations, decode (m = 1) and prefill (m > 1), sizes that are not a multiple of any tile.
// Row lengths are counted in the type's blocks (32 elements, or the K-quants' 256), so every
// shape is legal for every type: n_in = 1, 3 and 5 blocks (32/96/160 or 256/768/1280) and odd
// row counts, plus two long rows of 4096 and 1024 that every block size divides.

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {

std::vector<DType> weight_types() {
  std::vector<DType> types;
  for (size_t i = 0; i < kDTypeCount; ++i) {
    if (is_weight_type(DType(i))) types.push_back(DType(i));
  }
  return types;
}

namespace {

// The reference accumulates the same (dequantized) products in double; a kernel accumulating
// in f32 in another order differs by NMSE < 1e-10 at these sizes, and staging activations or
// dequantized weights as f16 in shared memory adds about 2e-8. One wrong output element in the
// largest case moves NMSE above 1e-4, so 5e-6 catches indexing bugs with a wide margin.
constexpr double matmul_nmse = 5e-6;

// Decoding a block is a few f32 products of small integers and f16 scales, the same operations
// in the same order on every backend (engine/core/codecs.h): exact for most types, and where a
// product rounds (Q6_K, IQ4_XS) a kernel that fuses or reorders it differs by an ulp in a few
// values (NMSE ~1e-15). The bound leaves room for that and for an f16 subnormal flushed to zero
// on a device; one wrong value in the smallest case scores above 1e-4.
constexpr double get_rows_nmse = 1e-12;

struct MatmulShape {
  int64_t m, n_in, n_out;
};

struct BlockShape {
  int64_t m;
  RowLength n_in;
  int64_t n_out;
};

MatmulShape for_type(DType type, const BlockShape& s) { return {s.m, in_elements(type, s.n_in), s.n_out}; }

// The values of weight matrix `index` of shape [rows, cols], the same for every weight type,
// activation type and op: cases that share a shape share their weights, so each quantized weight
// is encoded once (case_data.cpp caches it) however many cases read it.
std::vector<float> weight_values(int64_t rows, int64_t cols, int index = 0) {
  CaseRng rng(fmt::format("weight {}x{} #{}", rows, cols, index));
  return rng.floats(size_t(rows * cols));
}

}  // namespace

void add_matmul_cases(std::vector<OpCase>& cases) {
  // n_in in blocks (for 32-element blocks: multiples of 32 but not of 64/128/256); n_out and m
  // odd.
  const BlockShape block_shapes[] = {
      // decode: mat-vec
      {1, blocks(1), 1},
      {1, blocks(2), 7},
      {1, blocks(3), 33},
      {1, blocks(8), 65},
      {1, elements(4096), 257},
      // prefill: mat-mat
      {2, blocks(1), 5},
      {7, blocks(5), 33},
      {33, blocks(3), 65},
      {65, blocks(9), 257},
      {64, elements(1024), 512},
  };
  // Plain weights also take any n_in.
  const MatmulShape plain_shapes[] = {{1, 1, 1}, {1, 7, 33}, {5, 33, 7}, {17, 65, 3}};

  auto add = [&](DType w_type, DType x_type, MatmulShape s) {
    OpCase c;
    c.name = fmt::format("matmul w={} x={} m={} n_in={} n_out={}", dtype_name(w_type), dtype_name(x_type), s.m, s.n_in,
                         s.n_out);
    c.op = "matmul";
    c.max_nmse = matmul_nmse;
    c.weight = w_type;
    c.build = [name = c.name, w_type, x_type, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId w = add_weight(g, backend, "w", w_type, {s.n_out, s.n_in}, weight_values(s.n_out, s.n_in));
      const TensorId x = add_float_input(g, "x", x_type, {s.m, s.n_in}, rng.floats(size_t(s.m * s.n_in)));
      const TensorId y = g.graph.matmul(w, x);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  };
  for (DType w_type : weight_types()) {
    for (DType x_type : {DType::F32, DType::F16}) {
      for (const BlockShape& s : block_shapes) add(w_type, x_type, for_type(w_type, s));
      if (!dtype_info(w_type).quantized) {
        for (const MatmulShape& s : plain_shapes) add(w_type, x_type, s);
      }
    }
  }

  // Activations past f16's range (65504, up to 1e5): kernels that stage them in f16 (cooperative
  // matrices) must scale them, not turn them into infinity. Prefill, every weight type, f32
  // activations (f16 ones cannot hold them).
  for (DType w_type : weight_types()) {
    const MatmulShape s = for_type(w_type, {17, blocks(3), 33});
    OpCase c;
    c.name = fmt::format("matmul w={} x=f32 m={} n_in={} n_out={} x=1e5", dtype_name(w_type), s.m, s.n_in, s.n_out);
    c.op = "matmul";
    c.max_nmse = matmul_nmse;
    c.weight = w_type;
    c.build = [name = c.name, w_type, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId w = add_weight(g, backend, "w", w_type, {s.n_out, s.n_in}, weight_values(s.n_out, s.n_in));
      std::vector<float> x = rng.floats(size_t(s.m * s.n_in));
      for (float& v : x) v *= 1.0e5f;
      x[0] = 1.0e5f;
      const TensorId xt = add_float_input(g, "x", DType::F32, {s.m, s.n_in}, x);
      const TensorId y = g.graph.matmul(w, xt);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  }

  // matmul + a residual of the product's shape: fused into matmul_add for one token (the residual
  // on either side of the add), left as matmul then add for several.
  const BlockShape add_shapes[] = {{1, blocks(2), 7}, {1, blocks(8), 65}, {1, elements(4096), 257}, {7, blocks(5), 33}};
  auto add_residual = [&](DType w_type, DType x_type, MatmulShape s, bool residual_first) {
    OpCase c;
    c.name = fmt::format("matmul_add w={} x={} m={} n_in={} n_out={}{}", dtype_name(w_type), dtype_name(x_type), s.m,
                         s.n_in, s.n_out, residual_first ? " r+matmul" : "");
    c.op = "matmul_add";
    c.max_nmse = matmul_nmse;
    c.weight = w_type;
    c.build = [name = c.name, w_type, x_type, s, residual_first](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId w = add_weight(g, backend, "w", w_type, {s.n_out, s.n_in}, weight_values(s.n_out, s.n_in));
      const TensorId x = add_float_input(g, "x", x_type, {s.m, s.n_in}, rng.floats(size_t(s.m * s.n_in)));
      const TensorId r = add_float_input(g, "r", DType::F32, {s.m, s.n_out}, rng.floats(size_t(s.m * s.n_out)));
      const TensorId product = g.graph.matmul(w, x);
      const TensorId y = residual_first ? g.graph.add(r, product) : g.graph.add(product, r);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  };
  for (DType w_type : weight_types()) {
    for (DType x_type : {DType::F32, DType::F16}) {
      for (const BlockShape& s : add_shapes) add_residual(w_type, x_type, for_type(w_type, s), false);
      add_residual(w_type, x_type, for_type(w_type, add_shapes[1]), true);
    }
  }

  // Several products of one x (one token): q, k, v-like groups of 2 or 3 weights with odd row
  // counts, fused into matmul_cat; each product is read through its view by a scale by 1 (exact),
  // since an output product would keep its own buffer and stay unfused.
  struct GroupShape {
    int64_t n_in;
    std::vector<int64_t> rows;
  };
  struct GroupBlocks {
    RowLength n_in;
    std::vector<int64_t> rows;
  };
  const GroupBlocks cat_shapes[] = {
      {blocks(1), {1, 1}}, {blocks(3), {33, 7, 65}}, {blocks(8), {65, 33}}, {elements(4096), {257, 33, 33}}};
  const GroupShape plain_cat_shapes[] = {{33, {7, 1, 3}}, {1, {5, 2}}};
  auto add_cat = [&](DType w_type, DType x_type, const GroupShape& s) {
    OpCase c;
    c.name = fmt::format("matmul_cat w={} x={} n_in={} rows={}", dtype_name(w_type), dtype_name(x_type), s.n_in,
                         fmt::join(s.rows, "+"));
    c.op = "matmul_cat";
    c.max_nmse = matmul_nmse;
    c.weight = w_type;
    c.build = [name = c.name, w_type, x_type, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId x = add_float_input(g, "x", x_type, {1, s.n_in}, rng.floats(size_t(s.n_in)));
      std::vector<TensorId> products;
      for (size_t i = 0; i < s.rows.size(); ++i) {
        const TensorId w = add_weight(g, backend, fmt::format("w{}", i), w_type, {s.rows[i], s.n_in},
                                      weight_values(s.rows[i], s.n_in, int(i)));
        products.push_back(g.graph.matmul(w, x));
      }
      add_outputs_read_through_scale(g, products);
      return g;
    };
    cases.push_back(std::move(c));
  };
  // gate and up products into swiglu (built directly or as silu(g) * u), fused into
  // matmul_swiglu for one token.
  struct SwigluShape {
    int64_t n_in, n_ff;
  };
  struct SwigluBlocks {
    RowLength n_in;
    int64_t n_ff;
  };
  const SwigluBlocks swiglu_shapes[] = {{blocks(1), 1}, {blocks(3), 33}, {blocks(8), 65}, {elements(4096), 257}};
  auto add_swiglu = [&](DType w_type, DType x_type, SwigluShape s, bool from_silu) {
    OpCase c;
    c.name = fmt::format("matmul_swiglu w={} x={} n_in={} n_ff={}{}", dtype_name(w_type), dtype_name(x_type), s.n_in,
                         s.n_ff, from_silu ? " silu*mul" : "");
    c.op = "matmul_swiglu";
    c.max_nmse = matmul_nmse;
    c.weight = w_type;
    c.build = [name = c.name, w_type, x_type, s, from_silu](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId x = add_float_input(g, "x", x_type, {1, s.n_in}, rng.floats(size_t(s.n_in)));
      const TensorId wg = add_weight(g, backend, "w_gate", w_type, {s.n_ff, s.n_in}, weight_values(s.n_ff, s.n_in, 0));
      const TensorId wu = add_weight(g, backend, "w_up", w_type, {s.n_ff, s.n_in}, weight_values(s.n_ff, s.n_in, 1));
      const TensorId gate = g.graph.matmul(wg, x);
      const TensorId up = g.graph.matmul(wu, x);
      const TensorId y = from_silu ? g.graph.mul(g.graph.silu(gate), up) : g.graph.swiglu(gate, up);
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  };
  for (DType w_type : weight_types()) {
    for (DType x_type : {DType::F32, DType::F16}) {
      for (const GroupBlocks& s : cat_shapes) add_cat(w_type, x_type, {in_elements(w_type, s.n_in), s.rows});
      for (const SwigluBlocks& s : swiglu_shapes) {
        add_swiglu(w_type, x_type, {in_elements(w_type, s.n_in), s.n_ff}, false);
      }
      add_swiglu(w_type, x_type, {in_elements(w_type, swiglu_shapes[2].n_in), swiglu_shapes[2].n_ff}, true);
      if (!dtype_info(w_type).quantized) {
        for (const GroupShape& s : plain_cat_shapes) add_cat(w_type, x_type, s);
        add_swiglu(w_type, x_type, SwigluShape{33, 7}, false);
      }
    }
  }

  // get_rows: table [n_rows, n], ids [m] with repeats, first and last row.
  struct RowsShape {
    int64_t n_rows, n, m;
  };
  struct RowsBlocks {
    int64_t n_rows;
    RowLength n;
    int64_t m;
  };
  const RowsBlocks rows_shapes[] = {
      {1, blocks(1), 1}, {65, blocks(2), 7}, {257, blocks(3), 33}, {4096, elements(512), 64}};
  const RowsShape plain_rows_shapes[] = {{3, 1, 2}, {33, 7, 5}};
  auto add_rows = [&](DType t_type, RowsShape s) {
    OpCase c;
    c.name = fmt::format("get_rows table={} n_rows={} n={} m={}", dtype_name(t_type), s.n_rows, s.n, s.m);
    c.op = "get_rows";
    c.max_nmse = get_rows_nmse;
    c.weight = t_type;
    c.build = [name = c.name, t_type, s](Backend& backend) {
      CaseRng rng(name);
      CaseGraph g;
      const TensorId table = add_weight(g, backend, "table", t_type, {s.n_rows, s.n}, weight_values(s.n_rows, s.n));
      std::vector<int32_t> ids(size_t(s.m));
      for (int32_t& id : ids) id = rng.below(int32_t(s.n_rows));
      ids.front() = int32_t(s.n_rows - 1);
      if (s.m > 1) ids.back() = 0;
      if (s.m > 2) ids[1] = ids[0];  // a repeated id
      const TensorId y = g.graph.get_rows(table, add_i32_input(g, "ids", ids));
      g.graph.mark_output(y);
      g.outputs.push_back(y);
      return g;
    };
    cases.push_back(std::move(c));
  };
  for (DType t_type : weight_types()) {
    for (const RowsBlocks& s : rows_shapes) add_rows(t_type, {s.n_rows, in_elements(t_type, s.n), s.m});
    if (!dtype_info(t_type).quantized) {
      for (const RowsShape& s : plain_rows_shapes) add_rows(t_type, s);
    }
  }
}

}  // namespace vkgraph::testing
