// kv_write: new keys/values into the cache at per-token slots (shaders/kv). The result tensor
// is the cache itself (the plan places it on the cache's storage), so the kernel writes there.
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/core/error.h"

namespace vkgraph::vk {

Dispatch lower_kv_write(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& cache = in.input(0);  // cache: [n_slots, n_kv_head, d]
  const Node& src = in.input(1);    // src: [m, n_kv_head, d]
  Dispatch d = begin_dispatch(in);
  KvWritePush p{};
  p.n_slots = checked_u32(uint64_t(cache.shape.at(0)), node, "cache slots");
  p.row = checked_u32(uint64_t(element_count(cache.shape) / cache.shape.at(0)), node, "cache row");
  p.m = checked_u32(rows_of(src.shape) * uint64_t(src.shape.back()) / p.row, node, "tokens");
  p.src_off = add_binding(d, in, in.input_id(1), unit_bytes(src.dtype));
  p.slots_off = add_binding(d, in, in.input_id(2), 4);
  p.cache_off = add_binding(d, in, in.id, unit_bytes(cache.dtype));
  set_push(d, p);
  const uint64_t elements = uint64_t(p.m) * p.row;
  checked_u32(elements, node, "elements");
  d.bytes_read = elements * unit_bytes(src.dtype) + uint64_t(p.m) * 4;
  d.bytes_written = elements * unit_bytes(cache.dtype);
  set_groups(d, (elements + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
