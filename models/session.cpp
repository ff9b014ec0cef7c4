#include "models/session.h"

#include <algorithm>
#include <cmath>
#include <iterator>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "models/non_finite_trace.h"

namespace vkgraph::models {
namespace {

// Prepared step shapes kept at once: the decode step, a few prompt lengths and, with speculative
// decoding, a verification step per draft length (2 to --draft-max + 1 tokens, 9 by default).
constexpr size_t max_prepared = 16;
// The smallest extent of a one-token step's reads (Session::step_key): the decode steps of a
// session are then at most log2(slots / 256) + 1 prepared shapes (5 for the 4096-slot ring of
// `chat`), each prepared when the cache first grows into it.
constexpr int64_t kMinKvExtent = 256;

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

}  // namespace

Session::Session(const Model& model, Backend& backend, const SessionOptions& options)
    : model_(model), backend_(backend) {
  const Hparams& hp = model.hparams();
  const int64_t n_ctx = session_context(hp, options);
  VKGRAPH_CHECK(n_ctx > 0 && n_ctx <= (int64_t(1) << 24), "context size must be in [1, 16777216] (got {})", n_ctx);
  VKGRAPH_CHECK(options.sinks >= 0 && options.sinks < n_ctx,
                "attention sinks must be in [0, {}] for a context of {} (got {}; 0: no ring)", n_ctx - 1, n_ctx,
                options.sinks);
  VKGRAPH_CHECK(options.spare_slots >= 0 && options.spare_slots <= 4096, "spare KV slots must be in [0, 4096] (got {})",
                options.spare_slots);
  n_ctx_ = n_ctx;
  sinks_ = options.sinks;
  for (const LayerHparams& layer : hp.layers) max_window_ = std::max(max_window_, layer.window);
  if (ring()) check_ring_keeps_windows();
  // The plain cache's tentative tokens use its free positions: spare slots would never be used.
  kv_ = allocate_kv(hp, backend, n_ctx + (ring() ? options.spare_slots : 0), options.kv_dtype);
  VKGRAPH_CHECK(options.n_batch >= 0, "n_batch must be >= 0 (0: no limit; got {})", options.n_batch);
  n_batch_ = options.n_batch;
}

int64_t session_context(const Hparams& hp, const SessionOptions& options) {
  if (options.n_ctx != 0) return options.n_ctx;
  return std::min<int64_t>(hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096, 4096);
}

int64_t ring_context_for_windows(const Hparams& hp, int64_t n_ctx, int64_t sinks) {
  int32_t window = 0;
  for (const LayerHparams& layer : hp.layers) window = std::max(window, layer.window);
  if (window == 0 || sinks == 0) return n_ctx;
  // The closest a query comes to the last sink once something was evicted: an overflow chunk of
  // m tokens puts its first query at n_ctx - m (session.h), the last sink sits at sinks - 1.
  const auto sink_gap = [sinks](int64_t slots) {
    const int64_t chunk = std::max<int64_t>(1, (slots - sinks) / 8);
    return slots - chunk - (sinks - 1);
  };
  int64_t enough = n_ctx;
  while (sink_gap(enough) < window) enough += std::max<int64_t>(1, (window - sink_gap(enough)) / 2);
  return enough;
}

void Session::check_ring_keeps_windows() const {
  const int32_t window = max_window_;
  const int64_t enough = ring_context_for_windows(model_.hparams(), n_ctx_, sinks_);
  if (enough == n_ctx_) return;
  fail(
      "the KV ring of {} slots with {} sinks cannot keep the sliding window of {} positions exact: once it evicts, "
      "its sinks would sit inside the window (by the ring's positions) although they are older; a context of {} "
      "or more keeps them outside, or use the plain cache",
      n_ctx_, sinks_, window, enough);
}

int64_t Session::overflow_chunk() const {
  // 1/8 of the window: the first query of a chunk still sees 7/8 of the window, and at real
  // context sizes (thousands of slots) the chunks stay long enough for batched matmuls.
  return std::max<int64_t>(1, (n_ctx_ - sinks_) / 8);
}

void Session::reset() {
  n_past_ = 0;
  evicted_ = 0;
  n_tentative_ = 0;
  slot_order_.clear();
  freed_.clear();
  next_fresh_ = 0;
}

bool Session::can_truncate(int64_t n_keep) const {
  if (n_keep < 0 || n_keep > n_past_) return false;
  if (n_keep == 0 || evicted_ == 0) return true;
  // After an eviction the next query would sit at n_keep - evicted: with a sliding window it
  // must stay a window away from the last sink (check_ring_keeps_windows), which is truly older.
  if (max_window_ > 0 && n_keep - evicted_ - (sinks_ - 1) < max_window_) return false;
  return n_keep >= sinks_ + evicted_;
}

void Session::truncate(int64_t n_keep) {
  VKGRAPH_CHECK(n_tentative_ == 0, "cannot truncate with {} tentative tokens pending: accept() them first",
                n_tentative_);
  VKGRAPH_CHECK(n_keep >= 0 && n_keep <= n_past_, "cannot keep {} of {} positions", n_keep, n_past_);
  VKGRAPH_CHECK(can_truncate(n_keep),
                "cannot go back to position {}: the KV ring has evicted positions {} to {} (reset and evaluate again)",
                n_keep, sinks_, sinks_ + evicted_ - 1);
  if (n_keep == 0) return reset();
  // The dropped tokens are the newest of the cache: their slots become free, nothing moves.
  while (n_past_ > n_keep) {
    release_slot(slot_order_.back());
    slot_order_.pop_back();
    --n_past_;
  }
}

int32_t Session::take_slot() {
  if (!freed_.empty()) {
    const int32_t slot = *freed_.begin();
    freed_.erase(freed_.begin());
    return slot;
  }
  VKGRAPH_CHECK(next_fresh_ < kv_.n_slots, "internal: no free KV slot ({} slots)", kv_.n_slots);
  return next_fresh_++;
}

void Session::release_slot(int32_t slot) {
  freed_.insert(slot);
  // Free slots at the top of the used range go back to the fresh range, so freed_ stays small.
  while (!freed_.empty() && *freed_.rbegin() == next_fresh_ - 1) {
    freed_.erase(std::prev(freed_.end()));
    --next_fresh_;
  }
}

void Session::evict_oldest() {
  const auto oldest = slot_order_.begin() + std::ptrdiff_t(sinks_);
  release_slot(*oldest);
  slot_order_.erase(oldest);
  ++evicted_;
}

int64_t Session::tentative_room() const {
  if (!ring()) return n_ctx_ - n_past_;
  return kv_.n_slots - int64_t(slot_order_.size());
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

Session::StepKey Session::step_key(int64_t n, bool all_logits, bool decode_rows) const {
  StepKey key{n, all_logits, decode_rows, 0};
  if (n != 1 && !decode_rows) return key;
  // Every slot the step can write or see lies below next_fresh_ + n: held and freed slots are
  // below next_fresh_, and the new tokens take freed slots or the next fresh ones.
  const int64_t needed = int64_t(next_fresh_) + n;
  int64_t extent = kMinKvExtent;
  while (extent < needed) extent *= 2;
  if (extent < kv_.n_slots) key.kv_extent = extent;
  return key;
}

Session::Prepared& Session::prepared(const StepKey& key) {
  if (auto it = prepared_.find(key); it != prepared_.end()) {
    it->second.last_use = ++use_clock_;
    return it->second;
  }
  if (prepared_.size() >= max_prepared) {
    // Drop the least recently used shape, never the decode step that every token uses.
    auto victim = prepared_.end();
    for (auto it = prepared_.begin(); it != prepared_.end(); ++it) {
      if (it->first.n_tokens != 1 && (victim == prepared_.end() || it->second.last_use < victim->second.last_use)) {
        victim = it;
      }
    }
    if (victim != prepared_.end()) prepared_.erase(victim);
  }
  StepShape shape;
  shape.n_tokens = key.n_tokens;
  shape.all_logits = key.all_logits;
  shape.decode_rows = key.decode_rows;
  shape.ring = ring();
  shape.context = n_ctx_;  // not the ring's slots, which include its spare ones
  shape.kv_extent = key.kv_extent;
  Prepared p;
  p.step = build_step_graph(model_.hparams(), model_.weights(), kv_, shape, adapters_);
  const Plan plan = Plan::build(p.step.graph, backend_.plan_options());
  p.executable = backend_.prepare(plan);
  p.last_use = ++use_clock_;
  return prepared_.emplace(key, std::move(p)).first->second;
}

void Session::check_tokens(std::span<const int32_t> tokens) const {
  VKGRAPH_CHECK(!tokens.empty(), "nothing to evaluate: no tokens");
  const int64_t n_vocab = model_.hparams().n_vocab;
  for (int32_t id : tokens) {
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "token id {} is outside the vocabulary of {}", id, n_vocab);
  }
}

std::vector<float> Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  const auto n = int64_t(tokens.size());
  check_tokens(tokens);
  VKGRAPH_CHECK(n_tentative_ == 0, "{} tentative tokens are pending: accept() them before eval()", n_tentative_);
  VKGRAPH_CHECK(fits(n), "{} tokens do not fit the context: {} of {} positions are used (raise -c)", n, n_past_,
                n_ctx_);
  const int64_t batch = n_batch_ > 0 ? n_batch_ : n;
  const int64_t free_slots = n_ctx_ - n_cached();
  if (n <= free_slots && n <= batch) return eval_chunk(tokens, all_logits);

  // Several steps of at most `batch` tokens; when the ring overflows, first the free slots,
  // then chunks that evict as they write.
  std::vector<float> logits;
  int64_t done = 0;
  while (done < n) {
    const int64_t free_now = n_ctx_ - n_cached();
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
  const int64_t evict = std::max<int64_t>(0, n_cached() + n - n_ctx_);
  VKGRAPH_CHECK(evict == 0 || (ring() && evict <= n_cached() - sinks_),
                "internal: a chunk of {} tokens cannot evict {} of the {} cached", n, evict, n_cached());
  Prepared& p = prepared(step_key(n, all_logits, false));  // before any change: preparing may fail
  for (int64_t e = 0; e < evict; ++e) evict_oldest();
  return run_step(p, tokens, all_logits, 0);
}

std::vector<float> Session::eval_tentative(std::span<const int32_t> tokens) {
  const auto n = int64_t(tokens.size());
  check_tokens(tokens);
  VKGRAPH_CHECK(n <= tentative_room(), "{} tentative tokens do not fit: the cache has room for {} ({} cached of {}{})",
                n, tentative_room(), n_cached(), n_ctx_,
                ring() ? fmt::format(", {} spare slots", spare_slots()) : std::string());
  // When the committed tokens fill the ring, the step sees what a committed one-token eval
  // would: without the oldest window token, which stays in its slot until accept().
  const int64_t committed = n_cached() - n_tentative_;
  const int64_t hidden = ring() && committed >= n_ctx_ ? 1 : 0;
  // One token is the decode step itself (its rows are decode rows by definition).
  std::vector<float> logits = run_step(prepared(step_key(n, n > 1, n > 1)), tokens, n > 1, hidden);
  n_tentative_ += n;
  return logits;
}

void Session::accept(int64_t n) {
  VKGRAPH_CHECK(n >= 0 && n <= n_tentative_, "cannot accept {} of {} tentative tokens", n, n_tentative_);
  for (int64_t drop = n_tentative_ - n; drop > 0; --drop) {
    release_slot(slot_order_.back());
    slot_order_.pop_back();
    --n_past_;
  }
  n_tentative_ = 0;
  while (n_cached() > n_ctx_) evict_oldest();
}

std::vector<float> Session::run_step(Prepared& p, std::span<const int32_t> tokens, bool all_logits, int64_t hidden) {
  const auto n = int64_t(tokens.size());
  const auto held = int64_t(slot_order_.size());
  // Cache positions: the sinks, then the window in age order without its `hidden` oldest.
  const auto position_of = [&](int64_t index) { return index < sinks_ ? index : index - hidden; };
  std::vector<int32_t> positions(static_cast<size_t>(n)), slots(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t slot = take_slot();
    slot_order_.push_back(slot);
    positions[size_t(i)] = int32_t(position_of(held + i));
    slots[size_t(i)] = slot;
  }
  // Every held slot's cache position after the writes; -1 marks free and hidden slots.
  std::vector<int32_t> kv_pos(size_t(kv_.n_slots), -1);
  for (int64_t index = 0; index < held + n; ++index) {
    const bool is_hidden = index >= sinks_ && index < sinks_ + hidden;
    if (!is_hidden) kv_pos[size_t(slot_order_[size_t(index)])] = int32_t(position_of(index));
  }

  const std::vector<int32_t> ids(tokens.begin(), tokens.end());
  p.executable->set_input(p.step.tokens, bytes_of(ids));
  p.executable->set_input(p.step.positions, bytes_of(positions));
  p.executable->set_input(p.step.slots, bytes_of(slots));
  p.executable->set_input(p.step.kv_pos, bytes_of(kv_pos));
  try {
    p.executable->run();
  } catch (...) {
    // The new tokens were not evaluated: their slots go back (whatever the step wrote there is
    // invisible, since kv_pos decides what a step sees). Tokens evicted for them stay evicted:
    // their slots may have been overwritten.
    for (int64_t i = 0; i < n; ++i) {
      release_slot(slot_order_.back());
      slot_order_.pop_back();
    }
    throw;
  }

  const int64_t n_vocab = model_.hparams().n_vocab;
  std::vector<float> logits(size_t((all_logits ? n : 1) * n_vocab));
  p.executable->read_output(p.step.logits, std::as_writable_bytes(std::span<float>(logits)));
  if (const auto bad = std::find_if(logits.begin(), logits.end(), [](float x) { return !std::isfinite(x); });
      bad != logits.end()) {
    const auto at = size_t(bad - logits.begin());
    const int64_t token = n_past_ + (all_logits ? int64_t(at / size_t(n_vocab)) : n - 1);
    std::string where;
    try {
      where = trace_first_non_finite(p.step, backend_, {ids, positions, slots, kv_pos});
    } catch (const std::exception& e) {  // the refusal stands without the op's name
      where = std::string("the op could not be traced: ") + e.what();
    }
    reset();
    throw NonFiniteLogits(
        fmt::format("{}: the logits of token {} are not finite ({} at vocabulary entry {}): {}. The "
                    "model's weights may hold NaN or infinities (`--check-tensors` scans them "
                    "all); the context was reset",
                    model_.path(), token, *bad, at % size_t(n_vocab), where));
  }
  n_past_ += n;
  return logits;
}

}  // namespace vkgraph::models
