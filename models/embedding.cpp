#include "models/embedding.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace vkgraph::models {
namespace {

// Prepared step lengths kept at once: texts of many lengths would otherwise keep one
// executable (and its activation arena) each.
constexpr size_t max_prepared = 4;

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

void l2_normalize(std::span<float> v) {
  double sum = 0;
  for (float x : v) sum += double(x) * double(x);
  const double norm = std::sqrt(sum);
  const float scale = norm > 0 ? float(1.0 / norm) : 0.0f;
  for (float& x : v) x *= scale;
}

}  // namespace

Pooling default_pooling(const Hparams& hp) { return hp.pooling == Pooling::none ? Pooling::mean : hp.pooling; }

std::vector<float> pool_hidden_states(std::span<const float> hidden, int64_t n_tokens, int64_t n_embd,
                                      Pooling pooling) {
  VKGRAPH_CHECK(n_tokens > 0 && int64_t(hidden.size()) == n_tokens * n_embd,
                "internal: {} hidden values for {} tokens of {}", hidden.size(), n_tokens, n_embd);
  const auto row = [&](int64_t t) { return hidden.subspan(size_t(t * n_embd), size_t(n_embd)); };
  std::vector<float> out;
  switch (pooling) {
    case Pooling::none: {
      out.assign(hidden.begin(), hidden.end());
      for (int64_t t = 0; t < n_tokens; ++t)
        l2_normalize(std::span<float>(out).subspan(size_t(t * n_embd), size_t(n_embd)));
      return out;
    }
    case Pooling::mean: {
      std::vector<double> sum(size_t(n_embd), 0.0);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const auto r = row(t);
        for (int64_t i = 0; i < n_embd; ++i) sum[size_t(i)] += r[size_t(i)];
      }
      out.resize(size_t(n_embd));
      for (int64_t i = 0; i < n_embd; ++i) out[size_t(i)] = float(sum[size_t(i)] / double(n_tokens));
      break;
    }
    case Pooling::cls: {  // the first token's state (BOS/CLS), as llama.cpp
      const auto r = row(0);
      out.assign(r.begin(), r.end());
      break;
    }
    case Pooling::last: {
      const auto r = row(n_tokens - 1);
      out.assign(r.begin(), r.end());
      break;
    }
    case Pooling::rank:
      fail("rank pooling needs a classifier head, which vkgraph does not load (use mean, cls or last)");
  }
  l2_normalize(out);
  return out;
}

Embedder::Embedder(const Model& model, Backend& backend, int64_t n_ctx, int64_t n_batch)
    : model_(model), backend_(backend), n_batch_(n_batch) {
  const Hparams& hp = model.hparams();
  if (n_ctx == 0) n_ctx = std::min<int64_t>(hp.n_ctx_train > 0 ? hp.n_ctx_train : 4096, 4096);
  VKGRAPH_CHECK(n_ctx > 0 && n_ctx <= (int64_t(1) << 24), "embedding context must be in [1, 16777216] (got {})", n_ctx);
  VKGRAPH_CHECK(n_batch > 0, "n_batch must be > 0 (got {})", n_batch);
  kv_ = allocate_kv(hp, backend, n_ctx);
}

Embedder::Prepared& Embedder::prepared(int64_t n_tokens) {
  if (auto it = prepared_.find(n_tokens); it != prepared_.end()) return it->second;
  if (prepared_.size() >= max_prepared) prepared_.erase(prepared_.begin());
  StepShape shape;
  shape.n_tokens = n_tokens;
  shape.hidden_states = true;
  Prepared p;
  p.step = build_step_graph(model_.hparams(), model_.weights(), kv_, shape);
  p.executable = backend_.prepare(Plan::build(p.step.graph, backend_.plan_options()));
  return prepared_.emplace(n_tokens, std::move(p)).first->second;
}

std::vector<float> Embedder::embed(std::span<const int32_t> tokens, Pooling pooling) {
  const auto n = int64_t(tokens.size());
  VKGRAPH_CHECK(n > 0, "nothing to embed: no tokens");
  VKGRAPH_CHECK(n <= kv_.n_slots, "a text of {} tokens exceeds the embedding context of {}", n, kv_.n_slots);
  VKGRAPH_CHECK(pooling != Pooling::rank,
                "rank pooling needs a classifier head, which vkgraph does not load (use mean, cls or last)");
  const int64_t n_vocab = model_.hparams().n_vocab;
  for (int32_t id : tokens) {
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "token id {} is outside the vocabulary of {}", id, n_vocab);
  }
  const int64_t n_embd = model_.hparams().n_embd;
  std::vector<float> hidden(size_t(n * n_embd));
  // Positions 0..n-1 in slots 0..n-1 (the plain cache layout); each step sees every earlier token.
  for (int64_t done = 0; done < n;) {
    const int64_t m = std::min(n - done, n_batch_);
    Prepared& p = prepared(m);
    std::vector<int32_t> ids(tokens.begin() + done, tokens.begin() + done + m);
    std::vector<int32_t> positions(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) positions[size_t(i)] = int32_t(done + i);
    std::vector<int32_t> kv_pos(size_t(kv_.n_slots), -1);
    for (int64_t s = 0; s < done + m; ++s) kv_pos[size_t(s)] = int32_t(s);
    p.executable->set_input(p.step.tokens, bytes_of(ids));
    p.executable->set_input(p.step.positions, bytes_of(positions));
    p.executable->set_input(p.step.slots, bytes_of(positions));
    p.executable->set_input(p.step.kv_pos, bytes_of(kv_pos));
    p.executable->run();
    p.executable->read_output(p.step.hidden, std::as_writable_bytes(std::span<float>(hidden).subspan(
                                                 size_t(done * n_embd), size_t(m * n_embd))));
    done += m;
  }
  return pool_hidden_states(hidden, n, n_embd, pooling);
}

}  // namespace vkgraph::models
