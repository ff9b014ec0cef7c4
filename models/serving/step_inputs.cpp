#include "models/serving/step_inputs.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkgraph::serving {

void build_step_inputs(const Scheduler& scheduler, const StepPlan& plan, const StepLayout& layout, StepInputs& out) {
  const auto n = size_t(layout.n_tokens);
  VKGRAPH_CHECK(plan.tokens <= layout.n_tokens, "internal: a step of {} tokens in a bucket of {}", plan.tokens,
                layout.n_tokens);
  const int64_t bs = layout.block_size;
  out.tokens.assign(n, 0);
  out.positions.assign(n, 0);
  out.seq_rows.assign(n, -1);
  out.slots.resize(n);
  for (size_t i = 0; i < n; ++i) out.slots[i] = int32_t(layout.trash_block * bs + int64_t(i) % bs);
  out.block_table.assign(size_t(layout.table_rows * layout.max_blocks), -1);
  out.logit_rows.assign(size_t(layout.n_outputs), 0);
  out.output_ids.clear();

  for (SeqId id : scheduler.running_ids()) {
    const SeqState& s = scheduler.sequence(id);
    VKGRAPH_CHECK(s.row >= 0 && s.row < layout.table_rows && int64_t(s.blocks.size()) <= layout.max_blocks,
                  "internal: sequence {} has row {} and {} blocks (table {} x {})", id, s.row, s.blocks.size(),
                  layout.table_rows, layout.max_blocks);
    std::copy(s.blocks.begin(), s.blocks.end(), out.block_table.begin() + s.row * layout.max_blocks);
  }
  size_t t = 0;
  for (const Chunk& c : plan.chunks) {
    const SeqState& s = scheduler.sequence(c.id);
    for (int64_t p = c.first; p < c.first + c.count; ++p, ++t) {
      out.tokens[t] = s.tokens[size_t(p)];
      out.positions[t] = int32_t(p);
      out.seq_rows[t] = c.row;
      out.slots[t] = int32_t(int64_t(s.blocks[size_t(p / bs)]) * bs + p % bs);
    }
    VKGRAPH_CHECK(int64_t(out.output_ids.size()) + c.outputs <= layout.n_outputs && c.outputs <= c.count,
                  "internal: more logits wanted than the step's {} outputs", layout.n_outputs);
    for (int64_t k = c.outputs; k > 0; --k) {
      out.logit_rows[out.output_ids.size()] = int32_t(t - size_t(k));
      out.output_ids.push_back(c.id);
    }
  }
}

}  // namespace vkgraph::serving
