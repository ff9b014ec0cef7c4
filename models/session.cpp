#include "models/session.h"

#include <algorithm>
#include <cmath>

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
  VKGRAPH_CHECK(options.sinks >= 0 && options.sinks < n_ctx,
                "attention sinks must be in [0, {}] for a context of {} (got {}; 0: no ring)", n_ctx - 1, n_ctx,
                options.sinks);
  kv_ = allocate_kv(hp, backend, n_ctx, options.kv_dtype);
  sinks_ = options.sinks;
  VKGRAPH_CHECK(options.n_batch >= 0, "n_batch must be >= 0 (0: no limit; got {})", options.n_batch);
  n_batch_ = options.n_batch;
}

int64_t Session::overflow_chunk() const {
  // 1/8 of the window: the first query of a chunk still sees 7/8 of the window, and at real
  // context sizes (thousands of slots) the chunks stay long enough for batched matmuls.
  return std::max<int64_t>(1, (kv_.n_slots - sinks_) / 8);
}

void Session::reset() {
  n_past_ = 0;
  evicted_ = 0;
  head_ = 0;
}

bool Session::can_truncate(int64_t n_keep) const {
  if (n_keep < 0 || n_keep > n_past_) return false;
  return n_keep == 0 || evicted_ == 0 || n_keep >= sinks_ + evicted_;
}

void Session::truncate(int64_t n_keep) {
  VKGRAPH_CHECK(n_keep >= 0 && n_keep <= n_past_, "cannot keep {} of {} positions", n_keep, n_past_);
  VKGRAPH_CHECK(can_truncate(n_keep),
                "cannot go back to position {}: the KV ring has evicted positions {} to {} (reset and evaluate again)",
                n_keep, sinks_, sinks_ + evicted_ - 1);
  if (n_keep == 0) return reset();
  // The dropped tokens are the newest of the cache: their slots become free, nothing moves.
  n_past_ = n_keep;
}

int32_t Session::slot_of(int64_t pos, int64_t head) const {
  if (pos < sinks_) return int32_t(pos);
  const int64_t window = kv_.n_slots - sinks_;
  return int32_t(sinks_ + (head + pos - sinks_) % window);
}

void Session::set_adapters(std::vector<AdapterUse> adapters) {
  for (size_t i = 0; i < adapters.size(); ++i) {
    const AdapterUse& use = adapters[i];
    VKGRAPH_CHECK(use.adapter != nullptr, "adapter {} of {} is null", i, adapters.size());
    VKGRAPH_CHECK(use.adapter->model() == &model_, "adapter '{}' was loaded for another model than '{}'",
                  use.adapter->path(), model_.path());
    VKGRAPH_CHECK(std::isfinite(use.scale), "adapter '{}': scale {} is not a finite number", use.adapter->path(),
                  use.scale);
    for (size_t j = 0; j < i; ++j) {
      VKGRAPH_CHECK(adapters[j].adapter != use.adapter, "adapter '{}' is listed twice (entries {} and {})",
                    use.adapter->path(), j, i);
    }
  }
  const auto same = [](const AdapterUse& a, const AdapterUse& b) {
    return a.adapter == b.adapter && a.scale == b.scale;
  };
  if (std::equal(adapters.begin(), adapters.end(), adapters_.begin(), adapters_.end(), same)) return;
  adapters_ = std::move(adapters);
  prepared_.clear();  // the steps bake the adapters in; the next eval prepares them anew
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
  shape.ring = ring();
  Prepared p;
  p.step = build_step_graph(model_.hparams(), model_.weights(), kv_, shape, adapters_);
  const Plan plan = Plan::build(p.step.graph, backend_.plan_options());
  p.executable = backend_.prepare(plan);
  return prepared_.emplace(key, std::move(p)).first->second;
}

std::vector<float> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  const auto n = int64_t(tokens.size());
  VKGRAPH_CHECK(n > 0, "nothing to evaluate: no tokens");
  VKGRAPH_CHECK(fits(n), "{} tokens do not fit the context: {} of {} positions are used (raise -c)", n, n_past_,
                kv_.n_slots);
  const int64_t n_vocab = model_.hparams().n_vocab;
  for (int32_t id : tokens) {
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "token id {} is outside the vocabulary of {}", id, n_vocab);
  }
  const int64_t batch = n_batch_ > 0 ? n_batch_ : n;
  const int64_t free_slots = kv_.n_slots - n_cached();
  if (n <= free_slots && n <= batch) return eval_chunk(tokens, all_logits);

  // Several steps of at most `batch` tokens; when the ring overflows, first the free slots,
  // then chunks that evict as they write.
  std::vector<float> logits;
  int64_t done = 0;
  while (done < n) {
    const int64_t free_now = kv_.n_slots - n_cached();
    const int64_t take = std::min({n - done, batch, free_now > 0 ? free_now : overflow_chunk()});
    const bool last = done + take == n;
    // Earlier chunks' logits are only wanted with all_logits.
    std::vector<float> part = eval_chunk(tokens.subspan(size_t(done), size_t(take)), all_logits);
    if (all_logits || last) logits.insert(logits.end(), part.begin(), part.end());
    done += take;
  }
  return logits;
}

std::vector<float> Session::eval_chunk(std::span<const int32_t> tokens, bool all_logits) {
  const auto n = int64_t(tokens.size());
  // Evict the oldest window tokens to make room (only the ring ever gets here with too few).
  const int64_t evict = std::max<int64_t>(0, n_cached() + n - kv_.n_slots);
  VKGRAPH_CHECK(evict == 0 || (ring() && evict <= n_cached() - sinks_),
                "internal: a chunk of {} tokens cannot evict {} of the {} cached", n, evict, n_cached());
  const int64_t window = kv_.n_slots - sinks_;
  const int64_t head = evict > 0 ? (head_ + evict) % window : head_;
  const int64_t first = n_cached() - evict;  // the cache position of the chunk's first token

  Prepared& p = prepared(n, all_logits);
  std::vector<int32_t> positions(static_cast<size_t>(n)), slots(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    positions[size_t(i)] = int32_t(first + i);
    slots[size_t(i)] = slot_of(first + i, head);
  }
  // Every held slot's cache position after the writes; -1 marks free slots.
  std::vector<int32_t> kv_pos(size_t(kv_.n_slots), -1);
  for (int64_t pos = 0; pos < first + n; ++pos) kv_pos[size_t(slot_of(pos, head))] = int32_t(pos);

  const std::vector<int32_t> ids(tokens.begin(), tokens.end());
  p.executable->set_input(p.step.tokens, bytes_of(ids));
  p.executable->set_input(p.step.positions, bytes_of(positions));
  p.executable->set_input(p.step.slots, bytes_of(slots));
  p.executable->set_input(p.step.kv_pos, bytes_of(kv_pos));
  p.executable->run();

  const int64_t n_vocab = model_.hparams().n_vocab;
  std::vector<float> logits(size_t((all_logits ? n : 1) * n_vocab));
  p.executable->read_output(p.step.logits, std::as_writable_bytes(std::span<float>(logits)));
  head_ = head;
  evicted_ += evict;
  n_past_ += n;
  return logits;
}

}  // namespace vkgraph::models
