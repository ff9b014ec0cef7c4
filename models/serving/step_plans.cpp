#include "models/serving/step_plans.h"

#include <algorithm>
#include <chrono>

#include "engine/core/error.h"

namespace vkgraph::serving {
namespace {

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

}  // namespace

std::vector<int64_t> step_buckets(int64_t step_tokens) {
  VKGRAPH_CHECK(step_tokens >= 1, "the step budget must be >= 1 token (got {})", step_tokens);
  std::vector<int64_t> buckets{kMinBucketTokens};
  while (buckets.back() < step_tokens) buckets.push_back(buckets.back() * 2);
  return buckets;
}

StepPlans::StepPlans(const models::Model& model, Backend& backend, const models::KvStorage& kv, int64_t block_size,
                     int64_t table_rows, int64_t max_blocks, int64_t step_tokens, int64_t outputs_per_row)
    : model_(model),
      backend_(backend),
      kv_(kv),
      block_size_(block_size),
      table_rows_(table_rows),
      max_blocks_(max_blocks),
      buckets_(step_buckets(step_tokens)) {
  VKGRAPH_CHECK(outputs_per_row >= 1, "internal: {} outputs per table row", outputs_per_row);
  prepared_.resize(buckets_.size());
  for (size_t i = 0; i < buckets_.size(); ++i) {
    prepared_[i].n_tokens = buckets_[i];
    prepared_[i].n_outputs = std::max<int64_t>(2, std::min(buckets_[i], table_rows_ * outputs_per_row));
  }
}

double StepPlans::warm_up() {
  const auto start = std::chrono::steady_clock::now();
  for (int64_t b : buckets_) prepared(b);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

size_t StepPlans::prepared_count() const {
  return size_t(
      std::count_if(prepared_.begin(), prepared_.end(), [](const Prepared& p) { return p.executable != nullptr; }));
}

int64_t StepPlans::bucket_for(int64_t n_tokens) const {
  for (int64_t b : buckets_) {
    if (b >= n_tokens) return b;
  }
  fail("internal: a step of {} tokens is over the largest bucket {}", n_tokens, buckets_.back());
}

StepPlans::Prepared& StepPlans::prepared(int64_t bucket) {
  const auto i = size_t(std::find(buckets_.begin(), buckets_.end(), bucket) - buckets_.begin());
  Prepared& p = prepared_.at(i);
  if (p.executable) return p;
  models::StepShape shape;
  shape.n_tokens = p.n_tokens;
  shape.paged_block_size = block_size_;
  shape.paged_table_rows = table_rows_;
  shape.paged_max_blocks = max_blocks_;
  shape.paged_outputs = p.n_outputs;
  // Every token's row as a one-token step computes it (Graph::decode_rows): the row mat-vec
  // kernels in tiles of a few tokens, each row's sums the same whatever the step holds (batch
  // invariance). On lavapipe, 8 decode tokens of smollm2-135m Q4_0: 119 ms of products (all
  // layers, timestamps) against 134 ms in the prefill kernels' register tiles (docs/serving.md).
  shape.decode_rows = true;
  p.step = models::build_step_graph(model_.hparams(), model_.weights(), kv_, shape);
  p.executable = backend_.prepare(Plan::build(p.step.graph, backend_.plan_options()));
  return p;
}

StepLayout StepPlans::layout(int64_t n_tokens, int32_t trash_block) const {
  const int64_t bucket = bucket_for(n_tokens);
  const auto i = size_t(std::find(buckets_.begin(), buckets_.end(), bucket) - buckets_.begin());
  StepLayout l;
  l.n_tokens = bucket;
  l.n_outputs = prepared_[i].n_outputs;
  l.table_rows = table_rows_;
  l.max_blocks = max_blocks_;
  l.block_size = block_size_;
  l.trash_block = trash_block;
  return l;
}

const std::vector<float>& StepPlans::run(const StepLayout& layout, const StepInputs& in) {
  Prepared& p = prepared(layout.n_tokens);
  Executable& e = *p.executable;
  e.set_input(p.step.tokens, bytes_of(in.tokens));
  e.set_input(p.step.positions, bytes_of(in.positions));
  e.set_input(p.step.slots, bytes_of(in.slots));
  e.set_input(p.step.seq_rows, bytes_of(in.seq_rows));
  e.set_input(p.step.block_table, bytes_of(in.block_table));
  e.set_input(p.step.logit_rows, bytes_of(in.logit_rows));
  e.run();
  logits_.resize(size_t(p.n_outputs * model_.hparams().n_vocab));
  e.read_output(p.step.logits, std::as_writable_bytes(std::span<float>(logits_)));
  return logits_;
}

}  // namespace vkgraph::serving
