#pragma once
// Who runs in the next step of the batched engine, and with which tokens (continuous batching
// with chunked prefill over the paged KV cache). Host logic only: it decides chunks and keeps
// each sequence's block table; the engine runs the step and samples.
//
// Each step, within a budget of `step_tokens` tokens:
//  1. every running sequence that is generating gets its next token (a block is allocated when
//     the token starts a new one);
//  2. running sequences still in their prompt get their next chunk (at most `chunk_tokens`);
//  3. waiting sequences are admitted, oldest first, while a table row is free and the blocks of
//     their whole known text (less what the prefix cache already holds) are available; the
//     first one that does not fit stops admission (it waits at the head of the queue).
// When a running sequence needs a block and none is left, the newest running sequence is
// preempted: its blocks are released (its full blocks stay in the prefix cache as long as
// nobody needs their memory) and it goes back to the head of the queue with every token it has,
// generated ones included, to be recomputed when it is admitted again. It continues exactly
// where it stopped: recomputing a token gives the same keys and values (batch invariance).
//
// Speculative decoding: after a sequence's next token is sampled, the engine may append drafted
// tokens behind it (append_draft). They are tentative: the next step computes the token and the
// drafts together, with logits for each, and resolve_draft then keeps the accepted ones and
// rolls the rest back: their positions are dropped and the blocks only they reached go back to
// the pool, so the cache is exactly that of a sequence that never saw them. Blocks holding
// tentative tokens are not published to the prefix cache; a preempted sequence loses its drafts.
//
// Prefix sharing: at admission the sequence's full blocks are looked up by chained hash
// (block_pool.h), at most up to its last token, which is always computed (its logits are
// needed); matched blocks are held, not recomputed. After a step every block that became full
// is published, so a later request with the same prefix finds it.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "models/serving/block_pool.h"

namespace vkgraph::serving {

using SeqId = uint64_t;

struct SchedulerOptions {
  int64_t max_running = 4;     // sequences running at once: rows of the block table
  int64_t step_tokens = 512;   // tokens one step evaluates at most
  int64_t chunk_tokens = 512;  // tokens one sequence evaluates per step at most
  int64_t n_ctx = 4096;        // tokens one sequence holds at most
};

// The KV side of one sequence.
struct SeqState {
  SeqId id = 0;
  std::vector<int32_t> tokens;    // every token known: the prompt, then the generated ones
  int64_t computed = 0;           // leading tokens whose keys and values are in `blocks`
  std::vector<int32_t> blocks;    // block i holds positions [i * block_size, (i + 1) * block_size)
  std::vector<BlockHash> hashes;  // chained hashes of the leading full blocks, published or matched
  int32_t row = -1;               // the block table row while running
  uint64_t order = 0;             // admission order (preemption takes the newest)
  int64_t cached_tokens = 0;      // tokens the prefix cache supplied at the last admission
  int64_t preemptions = 0;
  int64_t tentative = 0;  // trailing tokens that are drafts not yet verified (resolve_draft)
};

// One sequence's part of a step: tokens [first, first + count) at positions first.., and how
// many of its trailing tokens' logits are wanted: 1 when its last token is the last known
// (sample the next), 1 + the drafts when it verifies drafts, else 0 (a prompt chunk).
struct Chunk {
  SeqId id = 0;
  int32_t row = -1;
  int64_t first = 0;
  int64_t count = 0;
  int64_t outputs = 0;
};

struct StepPlan {
  std::vector<Chunk> chunks;     // in table-row order of their sequences' admission
  std::vector<SeqId> admitted;   // admitted in this step (their cached_tokens are set)
  std::vector<SeqId> preempted;  // sent back to the queue in this step
  int64_t tokens = 0;            // sum of the chunks' counts
};

class Scheduler {
 public:
  Scheduler(BlockPool& pool, const SchedulerOptions& options);

  // A new sequence at the back of the queue.
  void enqueue(SeqId id, std::vector<int32_t> prompt);
  // Forgets a waiting or running sequence, releasing its blocks and row; false when unknown.
  bool remove(SeqId id);
  // The next step (empty when nothing can run). Allocates the blocks its chunks write.
  StepPlan schedule();
  // The step ran: its chunks' tokens are computed; blocks that became full are published.
  void commit(const StepPlan& plan);
  // A sampled token joins a running sequence (computed next step).
  void append(SeqId id, int32_t token);
  // Drafted tokens join behind the token just appended, tentatively (computed next step with
  // it; a step budget too small for all of them computes the first ones and drops the rest).
  void append_draft(SeqId id, std::span<const int32_t> drafts);
  // After the step that computed them: the first `accepted` drafts stay, the others are rolled
  // back (tokens, positions and the blocks only they reached).
  void resolve_draft(SeqId id, int64_t accepted);

  const SeqState& sequence(SeqId id) const;
  bool running(SeqId id) const;
  int64_t waiting_count() const { return int64_t(waiting_.size()); }
  int64_t running_count() const { return int64_t(running_.size()); }
  const std::vector<SeqId>& running_ids() const { return running_; }  // admission order
  const SchedulerOptions& options() const { return options_; }
  int64_t max_blocks() const { return (options_.n_ctx + pool_.block_size() - 1) / pool_.block_size(); }

 private:
  SeqState& state(SeqId id);
  // Gives `s` blocks up to position `end` (exclusive), preempting the newest running sequences
  // while none is left. False when `s` itself had to be preempted.
  bool reserve(SeqState& s, int64_t end, StepPlan& plan);
  void preempt(SeqId id, StepPlan& plan);
  void release_blocks(SeqState& s);
  // Drops the last `n` tentative tokens (never computed ones: they were not scheduled yet).
  static void drop_drafts(SeqState& s, int64_t n);
  // Publishes the blocks of s that are full of verified tokens.
  void publish_full_blocks(SeqState& s);
  // Holds the cached blocks of s's prefix; returns how many tokens they cover.
  int64_t match_prefix(SeqState& s);
  bool admit_next(StepPlan& plan, int64_t& budget);
  void add_chunk(SeqState& s, int64_t count, StepPlan& plan, int64_t& budget);

  BlockPool& pool_;
  SchedulerOptions options_;
  std::map<SeqId, std::unique_ptr<SeqState>> states_;
  std::deque<SeqId> waiting_;
  std::vector<SeqId> running_;  // oldest admission first
  std::vector<int32_t> free_rows_;
  uint64_t next_order_ = 1;
};

}  // namespace vkgraph::serving
