// Ops that reduce along the last dimension, one workgroup per row: rms_norm (and its fused
// weight multiply and low-rank products), softmax, argmax (shaders/norm, shaders/softmax,
// shaders/argmax).
#include <array>

#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/row_ops.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// rms_norm_low_rank (graph.h: LowRankNorm), inputs x, w, [u, a, b], a_0..: a matrix the node
// lacks binds one it has (its rank stays 0, so nothing of it is read), a missing u binds x.
void bind_norm_low_rank(Dispatch& d, const LoweringInput& in, uint32_t n) {
  const Node& node = in.node();
  const LowRankNorm& lr = node.params.low_rank;
  const size_t first_product = lr.delta ? 5 : 2;
  VKGRAPH_CHECK(node.inputs.size() == first_product + lr.products && lr.products <= LowRankNorm::kMaxProducts &&
                    (lr.delta || lr.products > 0),
                "rms_norm_low_rank '{}': {} inputs do not hold {} products{}", node.name, node.inputs.size(),
                lr.products, lr.delta ? " after a delta" : "");
  const auto rank_of = [&](size_t input) {
    return checked_u32(uint64_t(in.input(input).shape.at(0)), node, "low-rank matrix rows");
  };
  NormLowRankPush p{};
  p.n = n;
  p.eps = node.params.eps;
  p.x_off = add_binding(d, in, in.input_id(0), 4);
  p.w_off = add_binding(d, in, in.input_id(1), 4);
  uint64_t bytes = uint64_t(n) * 4 * 2;
  const TensorId any_matrix = in.input_id(lr.delta ? 3 : 2);
  if (lr.delta) {
    p.u_n = checked_u32(uint64_t(in.input(2).shape.back()), node, "delta input length");
    p.u_off = add_binding(d, in, in.input_id(2), 4);
    p.a_off = add_binding(d, in, in.input_id(3), 2);
    p.b_off = add_binding(d, in, in.input_id(4), 2);
    p.delta_rank = rank_of(3);
    p.factor = lr.factor;
    bytes += uint64_t(p.u_n) * 4 + uint64_t(p.delta_rank) * (p.u_n + n) * 2;
  } else {
    p.u_off = add_binding(d, in, in.input_id(0), 4);
    p.a_off = add_binding(d, in, any_matrix, 2);
    p.b_off = add_binding(d, in, any_matrix, 2);
  }
  const std::array<uint32_t*, LowRankNorm::kMaxProducts> ranks{&p.rank0, &p.rank1, &p.rank2};
  const std::array<uint32_t*, LowRankNorm::kMaxProducts> offsets{&p.a0_off, &p.a1_off, &p.a2_off};
  for (size_t j = 0; j < size_t(LowRankNorm::kMaxProducts); ++j) {
    const bool present = j < lr.products;
    *offsets[j] = add_binding(d, in, present ? in.input_id(first_product + j) : any_matrix, 2);
    if (!present) continue;
    *ranks[j] = rank_of(first_product + j);
    bytes += uint64_t(*ranks[j]) * n * 2;
  }
  p.o_off = add_binding(d, in, in.id, 4);
  // Words of four everywhere (shaders/norm/rms_norm_low_rank.comp) when every length, rank and
  // offset is a multiple of 4: the usual LoRA ranks (8, 16, ...) on model widths.
  bool vec4 = n % 4 == 0 && p.o_off % 4 == 0 && p.a0_off % 4 == 0 && p.a1_off % 4 == 0 && p.a2_off % 4 == 0;
  if (lr.delta) {
    for (uint32_t v : {p.delta_rank, p.u_n, p.u_off, p.a_off, p.b_off}) vec4 = vec4 && v % 4 == 0;
  }
  p.words4 = vec4 ? 1 : 0;
  set_push(d, p);
  d.bytes_read = bytes;
  d.bytes_written = uint64_t(element_count(node.shape)) * 4;
}

}  // namespace

Dispatch lower_row_op(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& x = in.input(0);
  // rms_norm_low_rank: LANES (constant_id 1), invocations per low-rank row.
  Dispatch d = node.op == OpKind::rms_norm_low_rank ? begin_dispatch(in, {in.kernel.tile[0]}) : begin_dispatch(in);
  const uint32_t n = checked_u32(uint64_t(x.shape.back()), node, "row length");
  const uint32_t rows = checked_u32(rows_of(x.shape), node, "rows");
  d.bytes_read = uint64_t(rows) * n * 4;
  switch (node.op) {
    case OpKind::rms_norm:
    case OpKind::rms_norm_mul: {
      NormPush p{};
      p.rows = rows;
      p.n = n;
      p.eps = node.params.eps;
      p.x_off = add_binding(d, in, in.input_id(0), 4);
      if (node.op == OpKind::rms_norm_mul) {
        p.w_off = add_binding(d, in, in.input_id(1), 4);
        d.bytes_read += uint64_t(n) * 4;
      }
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_written = uint64_t(rows) * n * 4;
      break;
    }
    case OpKind::rms_norm_low_rank:
      bind_norm_low_rank(d, in, n);
      break;
    case OpKind::softmax: {
      SoftmaxPush p{};
      p.rows = rows;
      p.n = n;
      p.scale = node.params.scale;
      p.x_off = add_binding(d, in, in.input_id(0), 4);
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_written = uint64_t(rows) * n * 4;
      break;
    }
    case OpKind::argmax: {
      ArgmaxPush p{};
      p.rows = rows;
      p.n = n;
      p.x_off = add_binding(d, in, in.input_id(0), 4);
      p.o_off = add_binding(d, in, in.id, 4);
      set_push(d, p);
      d.bytes_written = uint64_t(rows) * 4;
      break;
    }
    default:
      fail("tensor '{}': {} is not a row op", node.name, op_name(node.op));
  }
  set_groups(d, rows, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
