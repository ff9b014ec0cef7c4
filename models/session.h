#pragma once
// A session: one conversation with a model on a backend. It owns the KV cache and the prepared
// step executables, and turns tokens into logits, one step after another.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "models/arch/step_graph.h"
#include "models/model.h"

namespace vkgraph::models {

struct SessionOptions {
  int64_t n_ctx = 0;  // KV cache slots; 0: the model's training context, at most 4096
  DType kv_dtype = DType::F16;
};

class Session {
 public:
  Session(const Model& model, Backend& backend, const SessionOptions& options = {});

  // Runs `tokens` at the next positions and returns their logits: [n_vocab] for the last token,
  // or [tokens.size() * n_vocab] with all_logits. Throws, changing nothing, when they do not fit.
  std::vector<float> eval(std::span<const int32_t> tokens, bool all_logits = false);

  const Model& model() const { return model_; }
  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return kv_.n_slots; }
  void reset();
  // Forgets every position from n_keep on, so the next eval continues at n_keep (a conversation
  // whose text changed after that point).
  void truncate(int64_t n_keep);
  // Prepares the one-token decode step ahead of time (kernel compilation happens here).
  void warm_up() { prepared(1, false); }

  // Device bytes of the KV cache and of the prepared executables.
  size_t kv_bytes() const;
  size_t executable_bytes() const;
  size_t prepared_count() const { return prepared_.size(); }

 private:
  struct Prepared {
    StepGraph step;
    std::unique_ptr<Executable> executable;
  };
  Prepared& prepared(int64_t n_tokens, bool all_logits);

  const Model& model_;
  Backend& backend_;
  KvStorage kv_;
  std::vector<int32_t> kv_pos_;  // position held by each slot, -1 when empty
  int64_t n_past_ = 0;
  std::map<std::pair<int64_t, bool>, Prepared> prepared_;
};

}  // namespace vkgraph::models
