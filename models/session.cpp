#include "models/session.h"

#include <algorithm>
#include <numeric>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

// Prepared prompt shapes kept at once: the decode step plus a few prompt lengths.
constexpr size_t max_prepared = 8;

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

}  // namespace

Session::Session(const Model& model, Backend& backend, const SessionOptions& options)
    : model_(model), backend_(backend) {
  const Hparams& hp = model.hparams();
  int64_t n_ctx = options.n_ctx;
  if (n_ctx == 0) n_ctx = std::min<int64_t>(hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096, 4096);
  VKGRAPH_CHECK(n_ctx > 0 && n_ctx <= (int64_t(1) << 24), "context size must be in [1, 16777216] (got {})", n_ctx);
  kv_.dtype = options.kv_dtype;
  kv_.n_slots = n_ctx;
  const size_t layer_bytes = row_bytes(kv_.dtype, size_t(hp.n_head_kv * hp.head_dim)) * size_t(n_ctx);
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    kv_.k.push_back(backend.allocate_state(layer_bytes));
    kv_.v.push_back(backend.allocate_state(layer_bytes));
  }
  kv_pos_.assign(size_t(n_ctx), -1);
}

void Session::reset() {
  n_past_ = 0;
  std::fill(kv_pos_.begin(), kv_pos_.end(), -1);
}

void Session::truncate(int64_t n_keep) {
  VKGRAPH_CHECK(n_keep >= 0 && n_keep <= n_past_, "cannot keep {} of {} positions", n_keep, n_past_);
  for (int32_t& pos : kv_pos_) {
    if (pos >= n_keep) pos = -1;
  }
  n_past_ = n_keep;
}

size_t Session::kv_bytes() const {
  size_t total = 0;
  for (const auto& s : kv_.k) total += s->bytes();
  for (const auto& s : kv_.v) total += s->bytes();
  return total;
}

size_t Session::executable_bytes() const {
  size_t total = 0;
  for (const auto& [key, p] : prepared_) total += p.executable->device_bytes();
  return total;
}

Session::Prepared& Session::prepared(int64_t n_tokens, bool all_logits) {
  const auto key = std::make_pair(n_tokens, all_logits);
  if (auto it = prepared_.find(key); it != prepared_.end()) return it->second;
  if (prepared_.size() >= max_prepared) {
    // Drop a prompt-shaped executable, never the decode step that every token uses.
    for (auto it = prepared_.begin(); it != prepared_.end(); ++it) {
      if (it->first.first != 1) {
        prepared_.erase(it);
        break;
      }
    }
  }
  StepShape shape;
  shape.n_tokens = n_tokens;
  shape.all_logits = all_logits;
  Prepared p;
  p.step = build_step_graph(model_.hparams(), model_.weights(), kv_, shape);
  const Plan plan = Plan::build(p.step.graph);
  p.executable = backend_.prepare(plan);
  return prepared_.emplace(key, std::move(p)).first->second;
}

std::vector<float> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  const auto n = int64_t(tokens.size());
  VKGRAPH_CHECK(n > 0, "nothing to evaluate: no tokens");
  VKGRAPH_CHECK(n_past_ + n <= kv_.n_slots,
                "{} tokens do not fit the context: {} of {} positions are used (raise -c)", n, n_past_, kv_.n_slots);
  const int64_t n_vocab = model_.hparams().n_vocab;
  for (int32_t id : tokens) {
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "token id {} is outside the vocabulary of {}", id, n_vocab);
  }
  Prepared& p = prepared(n, all_logits);

  std::vector<int32_t> positions(static_cast<size_t>(n));
  std::iota(positions.begin(), positions.end(), int32_t(n_past_));
  // Within capacity the cache is linear: the token at position p lives in slot p.
  const std::vector<int32_t>& slots = positions;
  std::vector<int32_t> kv_pos = kv_pos_;
  for (int32_t pos : positions) kv_pos[size_t(pos)] = pos;

  const std::vector<int32_t> ids(tokens.begin(), tokens.end());
  p.executable->set_input(p.step.tokens, bytes_of(ids));
  p.executable->set_input(p.step.positions, bytes_of(positions));
  p.executable->set_input(p.step.slots, bytes_of(slots));
  p.executable->set_input(p.step.kv_pos, bytes_of(kv_pos));
  p.executable->run();

  std::vector<float> logits(size_t((all_logits ? n : 1) * n_vocab));
  p.executable->read_output(p.step.logits, std::as_writable_bytes(std::span<float>(logits)));
  kv_pos_ = std::move(kv_pos);
  n_past_ += n;
  return logits;
}

}  // namespace vkgraph::models
