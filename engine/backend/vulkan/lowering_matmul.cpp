// matmul: the kernel row decides the shader (shaders/matmul): the row-parallel kernel
// (matmul/rows_*, decode and CPU-class prefill), the shared-memory mat-vec (decode), the
// integer-dot-product mat-vec (matmul/dot8_*, decode) or the tiled mat-mat (prefill), portable
// or with cooperative matrices (matmul/coopmat_*: same tile constants). All take the same
// leading push constants.
#include <algorithm>
#include <string_view>

#include "engine/backend/vulkan/lowering.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

struct MatmulParams {  // matmul/matvec.comp, matmul/matmul_tiled.comp, matmul/matvec_rows.comp
  uint32_t m, n_in, n_out, w_off, x_off, o_off;
};
struct MatmulAddParams {  // the same shaders built with ADD (matmul_add)
  MatmulParams base;
  uint32_t r_off;  // floats
};

enum class MatmulShader { rows, matvec, tiled, dot8 };

MatmulShader shader_kind(const KernelRow& k) {
  const std::string_view name = k.variant.shader;
  if (name.starts_with("matmul/rows_")) return MatmulShader::rows;
  if (name.starts_with("matmul/matvec_")) return MatmulShader::matvec;
  if (name.starts_with("matmul/dot8_")) return MatmulShader::dot8;
  return MatmulShader::tiled;
}

}  // namespace

Dispatch lower_matmul(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& w = in.input(0);  // w: [n_out, n_in]
  const Node& x = in.input(1);  // x: [m, n_in] (leading dims flattened)
  const KernelRow& k = in.kernel;
  const MatmulShader kind = shader_kind(k);
  // Rows: ROWS, LANES, TOKENS; tiled: BM, BN, BK (constant_id 1-3). Mat-vec: rows per
  // workgroup (constant_id 1).
  std::vector<uint32_t> spec;
  if (kind == MatmulShader::matvec) {
    spec.push_back(k.tile[0]);
  } else if (kind == MatmulShader::dot8) {
    // ROWS, LANES (constant_id 1-2). The first 32 invocations (CHUNK in matvec_dot8.comp)
    // quantize a chunk of activation blocks, and ROWS x LANES must fill the workgroup.
    VKGRAPH_CHECK(k.tile[0] * k.tile[1] == k.workgroup_size && k.workgroup_size >= 32,
                  "matmul '{}': {} needs ROWS x LANES = workgroup size >= 32, the row has {} x {} and {}", node.name,
                  k.variant.shader, k.tile[0], k.tile[1], k.workgroup_size);
    spec = {k.tile[0], k.tile[1]};
  } else {
    spec.assign(k.tile.begin(), k.tile.end());
  }
  Dispatch d = begin_dispatch(in, spec);

  MatmulParams p{};
  p.n_out = checked_u32(uint64_t(w.shape.at(0)), node, "n_out");
  p.n_in = checked_u32(uint64_t(w.shape.at(1)), node, "n_in");
  p.m = checked_u32(rows_of(x.shape), node, "tokens");
  const DTypeInfo& wi = dtype_info(w.dtype);
  VKGRAPH_CHECK(p.n_in % wi.block_elements == 0, "matmul '{}': weight '{}' rows of {} are not whole {} blocks",
                node.name, w.name, p.n_in, wi.name);
  p.w_off = add_binding(d, in, in.input_id(0), unit_bytes(w.dtype));
  p.x_off = add_binding(d, in, in.input_id(1), unit_bytes(x.dtype));
  p.o_off = add_binding(d, in, in.id, 4);
  if (kind == MatmulShader::rows) {
    // PAIRS_ALIGNED (constant_id 4): 16-bit units per row; pairs of them (one 32-bit word) must
    // start every row and the binding for the 32-bit view to line up with block pairs.
    const uint64_t row_units = row_bytes(w.dtype, p.n_in) / 2;
    const bool pairs = w.dtype != DType::F32 && p.w_off % 2 == 0 && row_units % 2 == 0;
    d.spec_constants.push_back(pairs ? 1 : 0);
    // Quantized pairs are read as 16-byte vectors from the 16-byte boundary below them, which
    // may reach up to 15 bytes past the tensor's end: the binding is rounded up to 16 bytes.
    // The allocator aligns every allocation to at least 16 bytes (memory.cpp), so those bytes
    // are inside the weight's own allocation.
    if (pairs) d.buffers[0].size = (d.buffers[0].size + 15) / 16 * 16;
    // X_SHARED (constant_id 5): activations read as vec4.
    d.spec_constants.push_back(p.x_off % 4 == 0 && p.n_in % 4 == 0 ? 1 : 0);
  }
  if (node.op == OpKind::matmul_add) {
    // r: [m, n_out] f32 at binding 3, after the output's binding 2.
    VKGRAPH_CHECK(kind != MatmulShader::tiled, "matmul_add '{}': kernel '{}' has no residual epilogue", node.name,
                  k.variant.shader);
    set_push(d, MatmulAddParams{p, add_binding(d, in, in.input_id(2), 4)});
  } else {
    set_push(d, p);
  }

  const uint64_t weight_bytes = uint64_t(p.n_out) * row_bytes(w.dtype, p.n_in);
  const uint64_t x_bytes = uint64_t(p.m) * p.n_in * unit_bytes(x.dtype);
  switch (kind) {
    case MatmulShader::tiled: {
      const uint32_t bm = k.tile[0], bn = k.tile[1];
      const uint64_t tiles_m = (uint64_t(p.m) + bm - 1) / bm;
      const uint64_t tiles_n = (uint64_t(p.n_out) + bn - 1) / bn;
      set_groups(d, tiles_m * tiles_n, in.device, node);
      // Each token tile reads the whole weight once; each output-row tile reads x once.
      d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case MatmulShader::rows: {
      const uint64_t rows = std::max<uint32_t>(k.tile[0], 1), tokens = std::max<uint32_t>(k.tile[2], 1);
      const uint64_t tiles_m = (uint64_t(p.m) + tokens - 1) / tokens;
      const uint64_t tiles_n = (uint64_t(p.n_out) + rows - 1) / rows;
      set_groups(d, tiles_m * tiles_n, in.device, node);
      // Each token tile reads the weights once; activations are re-read per row tile.
      d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case MatmulShader::dot8: {
      const uint64_t tiles_n = (uint64_t(p.n_out) + k.tile[0] - 1) / k.tile[0];
      set_groups(d, uint64_t(p.m) * tiles_n, in.device, node);
      // Each token reads the weights once; each row tile reads the token's activations.
      d.bytes_read = uint64_t(p.m) * weight_bytes + tiles_n * x_bytes;
      break;
    }
    case MatmulShader::matvec: {
      const uint64_t rows_per_group = std::max<uint32_t>(k.tile[0], 1);
      set_groups(d, (uint64_t(p.m) * p.n_out + rows_per_group - 1) / rows_per_group, in.device, node);
      d.bytes_read = uint64_t(p.m) * weight_bytes + x_bytes;
      break;
    }
  }
  if (node.op == OpKind::matmul_add) d.bytes_read += uint64_t(p.m) * p.n_out * 4;  // the residual
  d.bytes_written = uint64_t(p.m) * p.n_out * 4;
  return d;
}

}  // namespace vkgraph::vk
