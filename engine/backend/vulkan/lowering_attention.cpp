// attention: decode (one query row) runs split-K (lowering_attention_split.cpp); prefill runs the
// tiled kernel (attention_tiled.comp), whose tile sizes are chosen here per head dimension to fit
// the kernel row's shared-memory budget. (CPU-class devices run prefill on attention_rows.comp,
// lowering_attention_rows.cpp, and come here for what that kernel does not take.)
#include <algorithm>
#include <bit>
#include <span>

#include "engine/backend/vulkan/attention_push.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

struct Tiles {
  uint32_t rows = 0;   // BR: query rows ((token, head) pairs) per workgroup
  uint32_t slots = 0;  // BC: cache slots per tile
};

// Shared memory of attention_tiled.comp for BR x BC tiles: q, kv and p tiles in the tile type
// (f16 on cooperative matrices, else f32); scores and outputs in f32; per-row and per-slot
// bookkeeping; the key rotation's frequencies (attention/common.glsl). Mirrors the shaders'
// shared declarations.
uint64_t tiled_shared_bytes(Tiles t, uint64_t d, bool coopmat) {
  const uint64_t unit = coopmat ? 2 : 4;
  const uint64_t staging_scales = coopmat ? 4 * (uint64_t(t.rows) + t.slots) : 0;  // q_scale, k_scale
  return unit * (t.rows * d + t.slots * d + uint64_t(t.rows) * t.slots) + 4 * (uint64_t(t.rows) * t.slots) +
         4 * (t.rows * d) + 4 * 4 * t.rows + 4 * t.slots + 4 * (d / 2 + 1) + staging_scales;
}

// The largest tiles, in order of preference, that fit `budget`. More rows per workgroup read
// each K/V tile for more queries (the cost that dominates); wider slot tiles mean fewer
// barriers per key. Rows are not made wider than the rows there are, so a short prompt still
// spreads over several workgroups. Cooperative matrices need multiples of 16.
Tiles choose_tiles(uint64_t d, uint64_t rows_total, bool coopmat, uint32_t budget, const Node& node) {
  static constexpr Tiles kPortable[] = {{64, 32}, {32, 32}, {32, 16}, {16, 16}, {16, 8}, {8, 8},
                                        {4, 8},   {2, 8},   {1, 8},   {1, 4},   {1, 2},  {1, 1}};
  static constexpr Tiles kCoopmat[] = {{64, 32}, {32, 32}, {32, 16}, {16, 16}};
  const uint64_t row_cap = std::bit_ceil(std::max<uint64_t>(rows_total, 1));
  const std::span<const Tiles> candidates =
      coopmat ? std::span<const Tiles>(kCoopmat) : std::span<const Tiles>(kPortable);
  for (const Tiles& t : candidates) {
    if (t.rows > row_cap && t.rows > (coopmat ? 16u : 1u)) continue;
    if (tiled_shared_bytes(t, d, coopmat) <= budget) return t;
  }
  throw RowDoesNotFit(
      fmt::format("attention '{}': no tile of the {} kernel fits head_dim {} in its {} bytes of shared memory",
                  node.name, coopmat ? "cooperative-matrix" : "portable", d, budget));
}

}  // namespace

AttentionPush attention_push(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& q = in.input(0);  // q: [m, n_head, d]
  const Node& k = in.input(1);  // k: [n_slots, n_kv_head, d]
  VKGRAPH_CHECK(q.shape.size() == 3 && k.shape.size() == 3,
                "attention '{}': q {} and k {} must be [tokens, heads, head_dim]", node.name, shape_string(q.shape),
                shape_string(k.shape));
  VKGRAPH_CHECK(q.shape[2] <= kMaxAttentionHeadDim, "attention '{}': head_dim {} exceeds the kernels' limit of {}",
                node.name, q.shape[2], kMaxAttentionHeadDim);
  const AttentionParams& attn = node.params.attention;
  AttentionPush p{};
  p.m = checked_u32(uint64_t(q.shape[0]), node, "tokens");
  p.n_head = checked_u32(uint64_t(q.shape[1]), node, "heads");
  p.n_slots = checked_u32(uint64_t(k.shape[0]), node, "cache slots");
  p.n_kv_head = checked_u32(uint64_t(k.shape[1]), node, "kv heads");
  VKGRAPH_CHECK(p.n_kv_head > 0 && p.n_head % p.n_kv_head == 0,
                "attention '{}': {} heads not a multiple of {} kv heads", node.name, p.n_head, p.n_kv_head);
  p.scale = attn.scale;
  p.window = attn.window;
  p.softcap = attn.softcap;
  if (attn.rotate_keys) {
    p.n_rot = uint32_t(attn.key_rope.n_rot);
    p.freq_base = attn.key_rope.freq_base;
    p.freq_scale = attn.key_rope.freq_scale;
  }
  return p;
}

uint32_t rope_mode_constant(const AttentionParams& a) {
  if (!a.rotate_keys) return 0;
  return a.key_rope.mode == RopeMode::neox ? 2 : 1;
}

Dispatch lower_attention(const LoweringInput& in) {
  const Node& node = in.node();
  VKGRAPH_CHECK(in.kernel.family == KernelFamily::attention_tiled,
                "attention '{}': kernel {} is of family {}; lower_attention lowers the tiled kernel", node.name,
                in.kernel.variant.shader, kernel_family_name(in.kernel.family));
  AttentionPush p = attention_push(in);
  const Node& q = in.input(0);  // q: [m, n_head, d]
  const Node& k = in.input(1);  // k: [n_slots, n_kv_head, d]
  const int64_t head_dim = q.shape[2];
  const AttentionParams& attn = node.params.attention;

  const bool coopmat = in.kernel.variant.requirements.coopmat.has_value();
  const uint64_t rows_total = uint64_t(p.m) * (p.n_head / p.n_kv_head);
  VKGRAPH_CHECK(!coopmat || head_dim % 16 == 0,
                "attention '{}': the cooperative-matrix kernel needs head_dim a multiple of 16, not {}", node.name,
                head_dim);
  const Tiles tiles =
      choose_tiles(uint64_t(head_dim), rows_total, coopmat, in.kernel.variant.requirements.shared_memory_bytes, node);
  Dispatch d = begin_dispatch(in, {uint32_t(head_dim), rope_mode_constant(attn), tiles.rows, tiles.slots});
  if (coopmat) add_coopmat_constants(d, in);
  bind_attention_tensors(d, in, p);
  set_push(d, p);

  // One workgroup per BR rows of one kv head; each reads (at most) its kv head's K and V once.
  const uint64_t kv_bytes = uint64_t(p.n_slots) * p.n_kv_head * uint64_t(head_dim) * unit_bytes(k.dtype) * 2;
  const uint64_t q_bytes = uint64_t(element_count(q.shape)) * 4;
  const uint64_t workgroups = (rows_total + tiles.rows - 1) / tiles.rows * p.n_kv_head;
  d.bytes_read = workgroups * kv_bytes / p.n_kv_head + q_bytes;
  d.bytes_written = q_bytes;
  set_groups(d, workgroups, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
