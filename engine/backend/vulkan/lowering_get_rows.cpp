// get_rows: embedding lookup from a table of any weight type (shaders/get_rows).
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/push/elementwise.h"
#include "engine/core/error.h"

namespace vkgraph::vk {

Dispatch lower_get_rows(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& table = in.input(0);  // table: [n_rows, n]
  const Node& ids = in.input(1);    // ids: [m] i32
  Dispatch d = begin_dispatch(in);
  GetRowsPush p{};
  p.all_rows = checked_u32(uint64_t(table.shape.at(0)), node, "table rows");
  p.first_row = in.rows ? checked_u32(in.rows->first, node, "first row") : 0;
  p.n_rows = in.rows ? checked_u32(in.rows->count, node, "rows") : p.all_rows;
  p.n = checked_u32(uint64_t(table.shape.at(1)), node, "row length");
  p.m = checked_u32(uint64_t(element_count(ids.shape)), node, "ids");
  p.w_off = add_weight_rows_binding(d, in, in.input_id(0), unit_bytes(table.dtype));
  p.ids_off = add_binding(d, in, in.input_id(1), 4);
  p.o_off = add_binding(d, in, in.id, 4);
  set_push(d, p);
  const uint64_t elements = uint64_t(p.m) * p.n;
  checked_u32(elements, node, "elements");
  d.bytes_read = uint64_t(p.m) * (row_bytes(table.dtype, p.n) + 4);
  d.bytes_written = elements * 4;
  set_groups(d, (elements + in.kernel.workgroup_size - 1) / in.kernel.workgroup_size, in.device, node);
  return d;
}

}  // namespace vkgraph::vk
