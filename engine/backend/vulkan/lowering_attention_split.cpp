// Split-K decode attention ("flash-decoding"): one query row attends to a long cache. One
// workgroup per head would launch n_head workgroups whatever the length, so at 16k slots a GPU
// with dozens of compute units would run a handful of long workgroups. Here the cache is cut
// into chunks, a workgroup owns (kv head, up to 8 of its query heads, chunk) and
// writes partial softmax results to scratch memory; a second dispatch combines them
// (attention_split.comp, attention_reduce.comp).
#include <algorithm>
#include <thread>

#include "engine/backend/vulkan/attention_push.h"
#include "engine/backend/vulkan/attention_split.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/step_effects.h"
#include "engine/core/error.h"

namespace vkgraph::vk {
namespace {

// A chunk of fewer slots costs more in fixed work than it saves: loading q, writing HG x (D + 2)
// partial floats and reading them back in the reduce, against 256 x D x 2 cache elements read by
// the chunk itself. It also keeps a decode over <= 511 slots one dispatch with no reduce pass.
constexpr uint64_t kMinChunkSlots = 256;

// Workgroups to aim for per parallel unit: a few, so that the units stay busy when chunks differ
// in cost (empty or invisible slots are skipped quickly) and, on a CPU device, when other
// processes share the cores.
constexpr uint64_t kWorkgroupsPerUnit = 4;

// Vulkan does not report compute units portably (only vendor extensions do). 64 is a mid-range
// discrete GPU (RTX 4070: 46 SMs, RX 7800 XT: 60 CUs); bigger ones still get 256 workgroups, and
// smaller ones lose little: the chunks are >= kMinChunkSlots and the reduce pass is cheap.
constexpr uint64_t kAssumedGpuUnits = 64;

// A CPU device (lavapipe, SwiftShader) runs workgroups on one thread per core.
uint64_t parallel_units(const DeviceInfo& device) {
  if (device.is_cpu()) return std::max(1u, std::thread::hardware_concurrency());
  return kAssumedGpuUnits;
}

// The slots of the cache whose first slots `k` is: the view's source for a view of a cache's
// leading rows (StepShape::kv_extent), else k's own.
int64_t cache_slots(const Graph& graph, TensorId k) {
  const Node& view = graph.node(k);
  if (view.op != OpKind::view || view.params.view_offset != 0) return view.shape[0];
  const Node& cache = graph.node(view_source(graph, k));
  const bool leading_rows = cache.shape.size() == view.shape.size() &&
                            std::equal(cache.shape.begin() + 1, cache.shape.end(), view.shape.begin() + 1);
  return leading_rows ? std::max(cache.shape[0], view.shape[0]) : view.shape[0];
}

}  // namespace

DecodeSplit choose_decode_split(uint64_t tokens, uint32_t n_head, uint32_t n_kv_head, uint32_t n_slots,
                                const DeviceInfo& device) {
  DecodeSplit s;
  const uint32_t group = n_head / std::max(n_kv_head, 1u);
  for (uint32_t h = std::min(group, kSplitMaxHeads); h >= 1; --h) {
    if (group % h == 0) {
      s.heads_per_group = h;
      break;
    }
  }
  const uint64_t base = std::max<uint64_t>(1, tokens * n_kv_head * (group / s.heads_per_group));
  const uint64_t wanted = (kWorkgroupsPerUnit * parallel_units(device) + base - 1) / base;
  const uint64_t most = std::max<uint64_t>(1, n_slots / kMinChunkSlots);
  const uint64_t chunks = std::clamp<uint64_t>(wanted, 1, most);
  const uint64_t slots = std::max<uint64_t>(n_slots, 1);
  uint64_t len = (slots + chunks - 1) / chunks;
  len = (len + kSplitWorkgroup - 1) / kSplitWorkgroup * kSplitWorkgroup;
  s.chunk_len = uint32_t(len);
  s.n_chunks = uint32_t((slots + len - 1) / len);
  s.workgroups = base * s.n_chunks;
  return s;
}

LoweredStep lower_attention_split(const LoweringInput& in) {
  const Node& node = in.node();
  VKGRAPH_CHECK(in.kernel.workgroup_size == kSplitWorkgroup,
                "attention '{}': kernel row {} has {} invocations; attention_split.comp is written for {}", node.name,
                in.kernel.variant.shader, in.kernel.workgroup_size, kSplitWorkgroup);
  AttentionSplitPush p{};
  VKGRAPH_PUSH_COPY(VKGRAPH_ATTENTION_PUSH, p, attention_push(in));
  const Node& k = in.input(1);  // k: [n_slots, n_kv_head, d]
  const int64_t head_dim = in.input(0).shape[2];
  const AttentionParams& attn = node.params.attention;
  // Decode rows (Graph::decode_rows): each query row is cut into the chunks a one-token step
  // uses, so its partial softmaxes, and their reduction, are the one-token step's bits.
  const bool decode_rows = in.graph().decode_rows();
  // The chunk grid follows the whole cache where attention reads only its first slots (a view: a
  // session's step over the slots in use, StepShape::kv_extent). The slots past the view are
  // empty and the chunks past it walk nothing, so a row's partial sums, and its bits, are those
  // of a step over the whole cache, whatever part each step reads: speculative verification
  // rows stay equal to one-token steps bit for bit.
  const uint32_t grid_slots = checked_u32(uint64_t(cache_slots(in.graph(), in.input_id(1))), node, "cache slots");
  DecodeSplit split = choose_decode_split(decode_rows ? 1 : p.m, p.n_head, p.n_kv_head, grid_slots, in.device);
  if (decode_rows) split.workgroups *= p.m;
  p.n_chunks = split.n_chunks;
  p.chunk_len = split.chunk_len;

  // part: [n_chunks, rows, head_dim] accumulators, then [n_chunks, rows, 2] (max, sum), f32.
  const uint64_t rows = uint64_t(p.m) * p.n_head;
  LoweredStep step;
  if (split.n_chunks > 1) {
    step.scratch_bytes = uint64_t(split.n_chunks) * rows * uint64_t(head_dim + 2) * 4;
    VKGRAPH_CHECK(step.scratch_bytes <= in.device.max_storage_buffer_range,
                  "attention '{}': {} bytes of split-K partials exceed maxStorageBufferRange ({}) of device '{}'",
                  node.name, step.scratch_bytes, in.device.max_storage_buffer_range, in.device.name);
    checked_u32(step.scratch_bytes / 4, node, "split-K partial floats");
  }

  Dispatch d = begin_dispatch(in, {uint32_t(head_dim), rope_mode_constant(attn), split.heads_per_group});
  bind_attention_tensors(d, in, p);
  if (split.n_chunks > 1) {
    add_scratch_binding(d, 0, step.scratch_bytes);
  } else {
    add_binding(d, in, in.id, 4);  // binding 7 unused: one chunk writes the output itself
  }
  set_push(d, p);
  const uint64_t kv_bytes = uint64_t(p.n_slots) * p.n_kv_head * uint64_t(head_dim) * unit_bytes(k.dtype) * 2;
  const uint64_t q_bytes = rows * uint64_t(head_dim) * 4;
  d.bytes_read = uint64_t(p.m) * kv_bytes * (p.n_head / p.n_kv_head / split.heads_per_group) + q_bytes;
  d.bytes_written = split.n_chunks > 1 ? step.scratch_bytes : q_bytes;
  set_groups(d, split.workgroups, in.device, node);
  step.dispatches.push_back(std::move(d));
  if (split.n_chunks == 1) return step;

  const KernelRow& reduce_row =
      select_kernel_row(in.device, {OpKind::attention, DType::F32, DType::F32, KernelForm::attention_split_reduce});
  const LoweringInput reduce_in{in.plan, in.id, reduce_row, in.binder, in.device};
  Dispatch r = begin_dispatch(reduce_in, {uint32_t(head_dim)});
  add_scratch_binding(r, 0, step.scratch_bytes);
  AttentionReducePush rp{};
  rp.rows = checked_u32(rows, node, "query rows");
  rp.n_chunks = split.n_chunks;
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
