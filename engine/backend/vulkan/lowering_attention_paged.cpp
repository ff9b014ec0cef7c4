// paged_attention (shaders/attention/paged_attention.comp): the batched engine's attention over
// a paged KV cache, one dispatch for every query of the step, then, when the keys are split into
// several chunks, attention_reduce.comp's pass over the partials. On CPU-class devices the
// direct rows (attention_split.comp with PAGED_ATTENTION) take the same push constants and
// bindings: one workgroup per (token, kv head, group of query heads), one chunk.
//
// Batch invariance (the kernel's header says why a query's result does not depend on its
// neighbours) needs the key tile BC and the chunk length to be the same for every step of an
// engine: both are chosen here from the head dimension, the query heads per kv head, the block
// table's capacity and the device, never from the number of tokens.
#include <algorithm>

#include "engine/backend/vulkan/attention_paged.h"
#include "engine/backend/vulkan/attention_push.h"
#include "engine/backend/vulkan/attention_split.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// A chunk shorter than this costs more in partials written and combined than it saves in
// parallelism (as kMinChunkSlots of split-K decode).
constexpr uint64_t kMinChunkPositions = 256;
// At most this many chunks: the partials of a step take chunks x tokens x heads x (D + 2)
// floats, and the largest step of a 7B model (512 tokens x 32 heads x 130) is 8.5 MB a chunk.
constexpr uint64_t kMaxChunks = 8;

// Shared memory of paged_attention.comp for BR x BC tiles (portable tiles: f32): q, o, kv, scores
// and probabilities, four per-row arrays and two per-position ones. Mirrors its declarations.
uint64_t paged_shared_bytes(uint64_t br, uint64_t bc, uint64_t d) {
  return 4 * (2 * br * d + bc * d + 2 * br * bc + 4 * br + 2 * bc);
}

}  // namespace

PagedTiles choose_paged_tiles(uint64_t head_dim, uint64_t group, uint64_t capacity, uint32_t budget,
                              const DeviceInfo& device) {
  PagedTiles t;
  // Rows: whole tokens (all query heads of a kv head), up to 32 rows, the tiled prefill
  // kernel's favourite on lavapipe and GPUs alike; key tiles of 16 positions (a KV block of the
  // engine's default size), narrower only where the head dimension leaves no room.
  bool found = false;
  for (uint64_t bc : {16u, 8u, 4u, 2u, 1u}) {
    for (uint64_t br = std::max<uint64_t>(32 / group, 1) * group; br >= group && !found; br -= group) {
      if (paged_shared_bytes(br, bc, head_dim) <= budget) {
        t.rows = uint32_t(br);
        t.keys = uint32_t(bc);
        found = true;
      }
    }
    if (found) break;
  }
  if (!found) return t;  // rows == 0: the caller names the limit
  // Chunks only on GPUs, whose many compute units need more than one workgroup per (run of
  // tokens, kv head) when few sequences attend to long contexts; a CPU device's few cores are
  // busy with the tokens and heads alone.
  const uint64_t chunks = device.is_cpu() ? 1 : std::clamp<uint64_t>(capacity / kMinChunkPositions, 1, kMaxChunks);
  uint64_t len = (capacity + chunks - 1) / chunks;
  len = (len + t.keys - 1) / t.keys * t.keys;
  t.chunk_len = uint32_t(len);
  t.n_chunks = uint32_t((capacity + len - 1) / len);
  return t;
}

LoweredStep lower_attention_paged(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& q = in.input(0);      // q: [m, n_head, d]
  const Node& k = in.input(1);      // k, v pools: [n_slots, n_kv_head, d]
  const Node& table = in.input(3);  // [n_rows, max_blocks]
  const AttentionParams& attn = node.params.attention;
  const int64_t head_dim = q.shape[2];
  VKGRAPH_CHECK(head_dim <= kMaxAttentionHeadDim, "paged_attention '{}': head_dim {} exceeds the kernels' limit of {}",
                node.name, head_dim, kMaxAttentionHeadDim);
  PagedAttentionPush p{};
  p.m = checked_u32(uint64_t(q.shape[0]), node, "tokens");
  p.n_head = checked_u32(uint64_t(q.shape[1]), node, "heads");
  p.n_slots = checked_u32(uint64_t(k.shape[0]), node, "pool slots");
  p.n_kv_head = checked_u32(uint64_t(k.shape[1]), node, "kv heads");
  p.scale = attn.scale;
  p.window = attn.window;
  p.softcap = attn.softcap;
  p.n_rows = checked_u32(uint64_t(table.shape[0]), node, "table rows");
  p.max_blocks = checked_u32(uint64_t(table.shape[1]), node, "blocks per row");
  p.block_size = checked_u32(uint64_t(attn.block_size), node, "block size");
  const uint64_t group = p.n_head / p.n_kv_head;
  const uint64_t capacity = uint64_t(p.max_blocks) * p.block_size;
  checked_u32(capacity, node, "positions per table row");
  const bool direct = in.kernel.family == KernelFamily::attention_paged_direct;
  PagedTiles tiles;
  uint32_t heads_per_group = 1;  // direct rows: query heads sharing a workgroup (HG)
  if (direct) {
    VKGRAPH_CHECK(in.kernel.workgroup_size == kSplitWorkgroup,
                  "paged_attention '{}': kernel row {} has {} invocations; attention_split.comp is written for {}",
                  node.name, in.kernel.variant.shader, in.kernel.workgroup_size, kSplitWorkgroup);
    // One chunk: every (token, kv head) already has a workgroup of its own, which keeps a CPU
    // device's few cores busy; the chunk grid (one, from position 0) is the same for every step.
    heads_per_group = choose_decode_split(1, p.n_head, p.n_kv_head, uint32_t(capacity), in.device).heads_per_group;
    tiles.rows = uint32_t(group);
    tiles.n_chunks = 1;
    tiles.chunk_len = uint32_t(capacity);
  } else {
    tiles = choose_paged_tiles(uint64_t(head_dim), group, capacity, in.kernel.variant.requirements.shared_memory_bytes,
                               in.device);
  }
  VKGRAPH_CHECK(tiles.rows > 0,
                "paged_attention '{}': no tile of {} query heads per kv head and head_dim {} fits the {} bytes of "
                "shared memory of kernel {}",
                node.name, group, head_dim, in.kernel.variant.requirements.shared_memory_bytes,
                in.kernel.variant.shader);
  p.n_chunks = tiles.n_chunks;
  p.chunk_len = tiles.chunk_len;

  // part: [n_chunks, rows, head_dim] accumulators, then [n_chunks, rows, 2] (max, sum), f32.
  const uint64_t rows = uint64_t(p.m) * p.n_head;
  LoweredStep step;
  if (tiles.n_chunks > 1) {
    step.scratch_bytes = uint64_t(tiles.n_chunks) * rows * uint64_t(head_dim + 2) * 4;
    VKGRAPH_CHECK(step.scratch_bytes <= in.device.max_storage_buffer_range,
                  "paged_attention '{}': {} bytes of partials exceed maxStorageBufferRange ({}) of device '{}'",
                  node.name, step.scratch_bytes, in.device.max_storage_buffer_range, in.device.name);
    checked_u32(step.scratch_bytes / 4, node, "partial floats");
  }

  Dispatch d = direct ? begin_dispatch(in, {uint32_t(head_dim), 0, heads_per_group})
                      : begin_dispatch(in, {uint32_t(head_dim), 0, tiles.rows, tiles.keys});
  const uint32_t kv_unit = unit_bytes(k.dtype);
  p.q_off = add_binding(d, in, in.input_id(0), 4);
  p.k_off = add_binding(d, in, in.input_id(1), kv_unit);
  p.v_off = add_binding(d, in, in.input_id(2), kv_unit);
  p.q_pos_off = add_binding(d, in, in.input_id(5), 4);
  p.table_off = add_binding(d, in, in.input_id(3), 4);
  p.o_off = add_binding(d, in, in.id, 4);
  p.seq_rows_off = add_binding(d, in, in.input_id(4), 4);
  if (tiles.n_chunks > 1) {
    add_scratch_binding(d, 0, step.scratch_bytes);
  } else {
    add_binding(d, in, in.id, 4);  // binding 7 unused: one chunk writes the output itself
  }
  set_push(d, p);
  // Each run of tokens (direct: each token, per group of query heads) reads (at most) its
  // sequence's keys and values once per kv head.
  const uint64_t kv_row_bytes = uint64_t(head_dim) * unit_bytes(k.dtype) * 2;
  const uint64_t q_bytes = rows * uint64_t(head_dim) * 4;
  const uint64_t head_groups = group / heads_per_group;
  const uint64_t per_token = uint64_t(p.m) * p.n_kv_head * std::min<uint64_t>(capacity, p.n_slots) * kv_row_bytes;
  d.bytes_read = (direct ? per_token * head_groups : per_token / std::max<uint64_t>(tiles.rows / group, 1)) + q_bytes;
  d.bytes_written = tiles.n_chunks > 1 ? step.scratch_bytes : q_bytes;
  set_groups(d, uint64_t(p.m) * p.n_kv_head * (direct ? head_groups : 1) * tiles.n_chunks, in.device, node);
  step.dispatches.push_back(std::move(d));
  if (tiles.n_chunks == 1) return step;

  const KernelRow& reduce_row =
      select_kernel_row(in.device, {OpKind::attention, DType::F32, DType::F32, KernelForm::attention_split_reduce});
  const LoweringInput reduce_in{in.plan, in.id, reduce_row, in.binder, in.device};
  Dispatch r = begin_dispatch(reduce_in, {uint32_t(head_dim)});
  add_scratch_binding(r, 0, step.scratch_bytes);
  AttentionReducePush rp{};
  rp.rows = checked_u32(rows, node, "query rows");
  rp.n_chunks = tiles.n_chunks;
  rp.part_off = 0;
  rp.o_off = add_binding(r, reduce_in, in.id, 4);
  set_push(r, rp);
  r.bytes_read = step.scratch_bytes;
  r.bytes_written = q_bytes;
  set_groups(r, rows, in.device, node);
  step.dispatches.push_back(std::move(r));
  return step;
}

}  // namespace vkgraph::vk
