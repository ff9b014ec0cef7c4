// matmul: mat-vec for one token, tiled mat-mat for several (shaders/matmul). The kernel row
// decides which; both take the same push constants.
#include <algorithm>

#include "engine/backend/vulkan/lowering.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

struct MatmulParams {  // matmul/matvec.comp and matmul/matmul_tiled.comp
  uint32_t m, n_in, n_out, w_off, x_off, o_off;
};

}  // namespace

Dispatch lower_matmul(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& w = in.input(0);  // w: [n_out, n_in]
  const Node& x = in.input(1);  // x: [m, n_in] (leading dims flattened)
  const KernelRow& k = in.kernel;
  const bool tiled = k.key.form == KernelForm::matrix;
  // Tiled: BM, BN, BK (constant_id 1-3). Mat-vec: output rows per workgroup (constant_id 1).
  std::vector<uint32_t> tile;
  if (tiled) {
    tile.assign(k.tile.begin(), k.tile.end());
  } else {
    tile.push_back(k.tile[0]);
  }
  Dispatch d = begin_dispatch(in, tile);

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
  set_push(d, p);

  const uint64_t weight_bytes = uint64_t(p.n_out) * row_bytes(w.dtype, p.n_in);
  const uint64_t x_bytes = uint64_t(p.m) * p.n_in * unit_bytes(x.dtype);
  if (tiled) {
    const uint32_t bm = k.tile[0], bn = k.tile[1];
    const uint64_t tiles_m = (uint64_t(p.m) + bm - 1) / bm;
    const uint64_t tiles_n = (uint64_t(p.n_out) + bn - 1) / bn;
    set_groups(d, tiles_m * tiles_n, in.device, node);
    // Each token tile reads the whole weight once; each output-row tile reads x once.
    d.bytes_read = tiles_m * weight_bytes + tiles_n * x_bytes;
  } else {
    const uint64_t rows_per_group = std::max<uint32_t>(k.tile[0], 1);
    set_groups(d, (uint64_t(p.m) * p.n_out + rows_per_group - 1) / rows_per_group, in.device, node);
    d.bytes_read = uint64_t(p.m) * weight_bytes + x_bytes;
  }
  d.bytes_written = uint64_t(p.m) * p.n_out * 4;
  return d;
}

}  // namespace vkgraph::vk
