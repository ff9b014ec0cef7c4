#include "models/serving/scheduler.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkgraph::serving {

Scheduler::Scheduler(BlockPool& pool, const SchedulerOptions& options) : pool_(pool), options_(options) {
  VKGRAPH_CHECK(options.max_running >= 1 && options.step_tokens >= 1 && options.chunk_tokens >= 1 && options.n_ctx >= 1,
                "scheduler: running sequences ({}), step tokens ({}), chunk tokens ({}) and context ({}) must be >= 1",
                options.max_running, options.step_tokens, options.chunk_tokens, options.n_ctx);
  // One sequence alone must always fit: then preempting every other one makes room for it.
  VKGRAPH_CHECK(pool.n_blocks() >= max_blocks(),
                "the KV cache has {} blocks of {} tokens, fewer than one sequence of {} tokens needs ({})",
                pool.n_blocks(), pool.block_size(), options.n_ctx, max_blocks());
  for (int64_t r = options.max_running - 1; r >= 0; --r) free_rows_.push_back(int32_t(r));
}

SeqState& Scheduler::state(SeqId id) {
  const auto it = states_.find(id);
  VKGRAPH_CHECK(it != states_.end(), "internal: sequence {} is not scheduled", id);
  return *it->second;
}

const SeqState& Scheduler::sequence(SeqId id) const {
  const auto it = states_.find(id);
  VKGRAPH_CHECK(it != states_.end(), "internal: sequence {} is not scheduled", id);
  return *it->second;
}

bool Scheduler::running(SeqId id) const { return std::find(running_.begin(), running_.end(), id) != running_.end(); }

void Scheduler::enqueue(SeqId id, std::vector<int32_t> prompt) {
  VKGRAPH_CHECK(!prompt.empty() && int64_t(prompt.size()) <= options_.n_ctx,
                "internal: a prompt of {} tokens for a context of {}", prompt.size(), options_.n_ctx);
  VKGRAPH_CHECK(states_.count(id) == 0, "internal: sequence {} is already scheduled", id);
  auto s = std::make_unique<SeqState>();
  s->id = id;
  s->tokens = std::move(prompt);
  states_.emplace(id, std::move(s));
  waiting_.push_back(id);
}

void Scheduler::release_blocks(SeqState& s) {
  // Last block first: the prefix blocks, the likeliest to be shared again, are released last,
  // so they stay longest in the cached list.
  for (auto it = s.blocks.rbegin(); it != s.blocks.rend(); ++it) pool_.release(*it);
  s.blocks.clear();
  s.hashes.clear();
  s.computed = 0;
}

bool Scheduler::remove(SeqId id) {
  const auto it = states_.find(id);
  if (it == states_.end()) return false;
  SeqState& s = *it->second;
  if (const auto r = std::find(running_.begin(), running_.end(), id); r != running_.end()) {
    running_.erase(r);
    free_rows_.push_back(s.row);
  } else {
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), id), waiting_.end());
  }
  release_blocks(s);
  states_.erase(it);
  return true;
}

void Scheduler::preempt(SeqId id, StepPlan& plan) {
  SeqState& s = state(id);
  running_.erase(std::find(running_.begin(), running_.end(), id));
  free_rows_.push_back(s.row);
  s.row = -1;
  release_blocks(s);
  drop_drafts(s, s.tentative);  // recomputed later from its verified tokens only
  s.preemptions++;
  // A chunk it was given earlier in this step is taken back.
  for (auto c = plan.chunks.begin(); c != plan.chunks.end(); ++c) {
    if (c->id == id) {
      plan.tokens -= c->count;
      plan.chunks.erase(c);
      break;
    }
  }
  plan.admitted.erase(std::remove(plan.admitted.begin(), plan.admitted.end(), id), plan.admitted.end());
  plan.preempted.push_back(id);
  // Newest first: an older victim of the same step is pushed in front of a newer one.
  waiting_.push_front(id);
}

bool Scheduler::reserve(SeqState& s, int64_t end, StepPlan& plan) {
  const int64_t bs = pool_.block_size();
  const int64_t need = (end + bs - 1) / bs - int64_t(s.blocks.size());
  while (pool_.available() < need) {
    const SeqId victim = *std::max_element(running_.begin(), running_.end(), [&](SeqId a, SeqId b) {
      return states_.at(a)->order < states_.at(b)->order;
    });
    preempt(victim, plan);
    if (victim == s.id) return false;
  }
  for (int64_t i = 0; i < need; ++i) s.blocks.push_back(*pool_.allocate());
  return true;
}

void Scheduler::add_chunk(SeqState& s, int64_t count, StepPlan& plan, int64_t& budget) {
  Chunk c;
  c.id = s.id;
  c.row = s.row;
  c.first = s.computed;
  c.count = count;
  c.outputs = s.computed + count == int64_t(s.tokens.size()) ? 1 + s.tentative : 0;
  plan.chunks.push_back(c);
  plan.tokens += count;
  budget -= count;
}

int64_t Scheduler::match_prefix(SeqState& s) {
  const int64_t bs = pool_.block_size();
  // The last token is always computed (its logits pick the next one), so at most the full
  // blocks before it are taken from the cache.
  const int64_t most = (int64_t(s.tokens.size()) - 1) / bs;
  BlockHash parent;
  for (int64_t b = 0; b < most; ++b) {
    const std::span<const int32_t> tokens(s.tokens.data() + b * bs, size_t(bs));
    const BlockHash h = chain_hash(parent, tokens);
    const std::optional<int32_t> block = pool_.lookup(h, tokens);
    if (!block) break;
    s.blocks.push_back(*block);
    s.hashes.push_back(h);
    parent = h;
  }
  return int64_t(s.blocks.size()) * bs;
}

bool Scheduler::admit_next(StepPlan& plan, int64_t& budget) {
  if (waiting_.empty() || free_rows_.empty() || budget <= 0) return false;
  SeqState& s = state(waiting_.front());
  const int64_t bs = pool_.block_size();
  const int64_t cached = match_prefix(s);
  const int64_t need = (int64_t(s.tokens.size()) + bs - 1) / bs - int64_t(s.blocks.size());
  if (pool_.available() < need) {
    release_blocks(s);  // not now: the matched blocks go back to the cache
    return false;
  }
  waiting_.pop_front();
  s.row = free_rows_.back();
  free_rows_.pop_back();
  s.order = next_order_++;
  s.computed = cached;
  s.cached_tokens = cached;
  running_.push_back(s.id);
  plan.admitted.push_back(s.id);
  const int64_t count = std::min({int64_t(s.tokens.size()) - s.computed, options_.chunk_tokens, budget});
  const bool reserved = reserve(s, s.computed + count, plan);
  VKGRAPH_CHECK(reserved, "internal: sequence {} was admitted without its blocks", s.id);
  add_chunk(s, count, plan, budget);
  return true;
}

StepPlan Scheduler::schedule() {
  StepPlan plan;
  int64_t budget = options_.step_tokens;
  // 1. Generating sequences first: one token each (and its drafts) keeps every stream moving.
  const std::vector<SeqId> generating = [&] {
    std::vector<SeqId> ids;
    for (SeqId id : running_) {
      const SeqState& s = *states_.at(id);
      if (int64_t(s.tokens.size()) - s.computed - s.tentative == 1) ids.push_back(id);
    }
    return ids;
  }();
  for (SeqId id : generating) {
    if (budget <= 0 || !running(id)) continue;  // preempted meanwhile
    SeqState& s = state(id);
    drop_drafts(s, std::max<int64_t>(0, 1 + s.tentative - budget));
    if (reserve(s, s.computed + 1 + s.tentative, plan)) add_chunk(s, 1 + s.tentative, plan, budget);
  }
  // 2. Prompts in progress, oldest first.
  const std::vector<SeqId> snapshot = running_;
  for (SeqId id : snapshot) {
    if (budget <= 0) break;
    if (!running(id)) continue;
    SeqState& s = state(id);
    const int64_t remaining = int64_t(s.tokens.size()) - s.computed;
    if (remaining - s.tentative <= 1) continue;  // generating (done above) or nothing left
    const int64_t count = std::min({remaining, options_.chunk_tokens, budget});
    if (reserve(s, s.computed + count, plan)) add_chunk(s, count, plan, budget);
  }
  // 3. New sequences while rows, blocks and budget last. A sequence preempted in this step
  // waits for the next one (its blocks were just needed by an older sequence).
  while (plan.preempted.empty() && admit_next(plan, budget)) {
  }
  // Chunks in table-row order of admission (oldest first): the inputs' layout is stable.
  std::stable_sort(plan.chunks.begin(), plan.chunks.end(),
                   [&](const Chunk& a, const Chunk& b) { return states_.at(a.id)->order < states_.at(b.id)->order; });
  return plan;
}

void Scheduler::commit(const StepPlan& plan) {
  for (const Chunk& c : plan.chunks) {
    SeqState& s = state(c.id);
    VKGRAPH_CHECK(s.computed == c.first, "internal: sequence {} computed {} tokens, the chunk starts at {}", c.id,
                  s.computed, c.first);
    s.computed += c.count;
    publish_full_blocks(s);
  }
}

void Scheduler::publish_full_blocks(SeqState& s) {
  // Only verified tokens: a block that holds a draft may still be rolled back.
  const int64_t bs = pool_.block_size();
  while (int64_t(s.hashes.size()) < (s.computed - s.tentative) / bs) {
    const int64_t b = int64_t(s.hashes.size());
    const std::span<const int32_t> tokens(s.tokens.data() + b * bs, size_t(bs));
    const BlockHash h = chain_hash(b > 0 ? s.hashes.back() : BlockHash{}, tokens);
    pool_.publish(s.blocks[size_t(b)], h, tokens);
    s.hashes.push_back(h);
  }
}

void Scheduler::append(SeqId id, int32_t token) {
  SeqState& s = state(id);
  VKGRAPH_CHECK(s.computed == int64_t(s.tokens.size()), "internal: sequence {} has {} tokens not computed yet", id,
                int64_t(s.tokens.size()) - s.computed);
  VKGRAPH_CHECK(int64_t(s.tokens.size()) < options_.n_ctx, "internal: sequence {} is at the end of its context", id);
  s.tokens.push_back(token);
}

void Scheduler::drop_drafts(SeqState& s, int64_t n) {
  VKGRAPH_CHECK(n >= 0 && n <= s.tentative && int64_t(s.tokens.size()) - n >= s.computed,
                "internal: sequence {} cannot drop {} of its {} drafts", s.id, n, s.tentative);
  s.tokens.resize(s.tokens.size() - size_t(n));
  s.tentative -= n;
}

void Scheduler::append_draft(SeqId id, std::span<const int32_t> drafts) {
  SeqState& s = state(id);
  VKGRAPH_CHECK(s.tentative == 0 && int64_t(s.tokens.size()) - s.computed == 1,
                "internal: drafts for sequence {} must follow its one new token", id);
  VKGRAPH_CHECK(int64_t(s.tokens.size() + drafts.size()) <= options_.n_ctx,
                "internal: {} drafts run sequence {} past its context of {}", drafts.size(), id, options_.n_ctx);
  s.tokens.insert(s.tokens.end(), drafts.begin(), drafts.end());
  s.tentative = int64_t(drafts.size());
}

void Scheduler::resolve_draft(SeqId id, int64_t accepted) {
  SeqState& s = state(id);
  VKGRAPH_CHECK(s.computed == int64_t(s.tokens.size()) && accepted >= 0 && accepted <= s.tentative,
                "internal: sequence {} resolves {} of {} drafts with {} of {} tokens computed", id, accepted,
                s.tentative, s.computed, s.tokens.size());
  const int64_t rejected = s.tentative - accepted;
  s.tokens.resize(s.tokens.size() - size_t(rejected));
  s.computed -= rejected;
  s.tentative = 0;
  // Blocks only rejected tokens reached go back; a block partly kept keeps its accepted
  // positions, and the next tokens overwrite the rejected ones' keys and values.
  const int64_t bs = pool_.block_size();
  while (int64_t(s.blocks.size()) > (s.computed + bs - 1) / bs) {
    pool_.release(s.blocks.back());
    s.blocks.pop_back();
  }
  publish_full_blocks(s);
}

}  // namespace vkgraph::serving
