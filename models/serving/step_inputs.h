#pragma once
// The host data of one batched step (models/arch/step_graph.h, StepShape::paged_*): the
// scheduler's chunks laid out token after token and padded to the step's bucket.
//
// Padding tokens (token 0 at position 0) have table row -1, so they see nothing, and write their
// keys and values into the trash block, a block no table names; their logit rows, when the
// bucket has more outputs than chunks want, repeat token 0 and are never read.

#include <cstdint>
#include <vector>

#include "models/serving/scheduler.h"

namespace vkgraph::serving {

struct StepInputs {
  std::vector<int32_t> tokens;       // [n_tokens]
  std::vector<int32_t> positions;    // [n_tokens]
  std::vector<int32_t> slots;        // [n_tokens] pool slots the keys and values go to
  std::vector<int32_t> seq_rows;     // [n_tokens] table rows, -1 for padding
  std::vector<int32_t> block_table;  // [table_rows, max_blocks] block ids, -1 where none
  std::vector<int32_t> logit_rows;   // [n_outputs] the token whose logits each output row holds
  // The sequence of each wanted output row, in order: a sequence verifying drafts has several
  // consecutive rows (its token's, then each draft's).
  std::vector<SeqId> output_ids;
};

struct StepLayout {
  int64_t n_tokens = 0;    // the bucket: >= the plan's tokens
  int64_t n_outputs = 0;   // >= the chunks that want logits
  int64_t table_rows = 0;  // the scheduler's max_running
  int64_t max_blocks = 0;
  int64_t block_size = 0;
  int32_t trash_block = 0;  // written by padding, named by no table
};

void build_step_inputs(const Scheduler& scheduler, const StepPlan& plan, const StepLayout& layout, StepInputs& out);

}  // namespace vkgraph::serving
