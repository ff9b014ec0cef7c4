// Weights larger than one binding. A descriptor covers at most maxStorageBufferRange bytes
// (lavapipe: 128 MiB), less than the embedding table of a large vocabulary (Llama 3.2 1B's
// 128256 x 2048 is 141 MiB in Q4_0, 215 MiB in Q6_K; Gemma 2's is larger still). Such tables are
// read by get_rows (the embedding) and by matmul (the output projection, often the same tensor):
// both run here as several dispatches, each binding a range of whole rows that fits, so the
// kernels stay as they are. A matmul's range writes its columns of the output; with several
// tokens (a prefill that keeps every row's logits) each token is a dispatch of its own, since
// the kernels take the output's row length from their n_out. get_rows' ranges write the output
// rows whose ids they hold (shaders/get_rows/get_rows.comp).

#include <algorithm>

#include "engine/backend/vulkan/lowering.h"

namespace vkgraph::vk {

bool needs_row_ranges(const LoweringInput& in) {
  const Node& node = in.node();
  if (in.rows != nullptr || (node.op != OpKind::get_rows && node.op != OpKind::matmul)) return false;
  return in.plan.location(in.input_id(0)).bytes > in.device.max_storage_buffer_range;
}

LoweredStep lower_row_ranges(const LoweringInput& in) {
  const Node& node = in.node();
  const Node& w = in.input(0);
  VKGRAPH_CHECK(w.shape.size() == 2, "{} '{}': weight '{}' is {}, expected [rows, n] to bind in ranges of rows",
                op_name(node.op), node.name, w.name, shape_string(w.shape));
  const uint64_t rows = uint64_t(w.shape[0]);
  const uint64_t row = row_bytes(w.dtype, w.shape[1]);
  // A range is bound from the aligned offset below its first row, and the row kernels round a
  // binding up to 16 bytes for their vector reads (lowering_matmul.cpp): room for both.
  const uint64_t align = std::max<uint64_t>(in.device.min_storage_buffer_offset_alignment, 1);
  const uint64_t slack = align - 1 + 16;
  const uint64_t range = in.device.max_storage_buffer_range;
  VKGRAPH_CHECK(range > slack && row <= range - slack,
                "{} '{}': one row of weight '{}' is {} bytes; device '{}' binds at most maxStorageBufferRange = {} "
                "bytes at once",
                op_name(node.op), node.name, w.name, row, in.device.name, range);
  const uint64_t per_range = (range - slack) / row;
  const uint64_t tokens = node.op == OpKind::matmul ? rows_of(in.input(1).shape) : 1;

  LoweredStep step;
  std::vector<RowRange> parts;
  for (uint64_t t = 0; t < tokens; ++t) {
    for (uint64_t first = 0; first < rows; first += per_range) {
      RowRange part{first, std::min(per_range, rows - first), std::nullopt};
      if (tokens > 1) part.token = checked_u32(t, node, "token");
      parts.push_back(part);
    }
  }
  for (const RowRange& part : parts) {
    const LoweringInput one{in.plan, in.id, in.kernel, in.binder, in.device, &part};
    step.dispatches.push_back(lower_step(one));
  }
  return step;
}

}  // namespace vkgraph::vk
