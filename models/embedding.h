#pragma once
// Embeddings: a text's final hidden states (after the output norm, before the output
// projection: what llama.cpp pools), pooled over its tokens and L2-normalized, so the dot
// product of two embeddings is their cosine similarity.
//
// An Embedder holds its own KV cache of n_ctx slots (a text attends causally to itself, as in
// generation) and the prepared hidden-state steps; it shares nothing with a Session, so an
// embedding never disturbs a conversation. A text longer than n_batch runs as several steps.

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "engine/backend/backend.h"
#include "models/arch/step_graph.h"
#include "models/model.h"

namespace vkgraph::models {

class Embedder {
 public:
  // n_ctx: the longest text in tokens (0: the model's training context, at most 4096).
  Embedder(const Model& model, Backend& backend, int64_t n_ctx = 0, int64_t n_batch = 512);

  // [n_embd] for mean, cls and last pooling; [tokens.size() * n_embd] for none (each token's
  // vector normalized on its own). Throws naming the limit for an empty or too long text, a
  // token outside the vocabulary, or rank pooling (which needs a classifier head).
  std::vector<float> embed(std::span<const int32_t> tokens, Pooling pooling);

  int64_t n_ctx() const { return kv_.n_slots; }
  int64_t n_embd() const { return model_.hparams().n_embd; }

 private:
  struct Prepared {
    StepGraph step;
    std::unique_ptr<Executable> executable;
  };
  Prepared& prepared(int64_t n_tokens);

  const Model& model_;
  Backend& backend_;
  KvStorage kv_;
  int64_t n_batch_;
  std::map<int64_t, Prepared> prepared_;  // by step length
};

// Pools `hidden` ([n_tokens, n_embd], row-major) and L2-normalizes the result (a zero vector
// stays zero), as llama.cpp's embeddings with --embd-normalize 2.
std::vector<float> pool_hidden_states(std::span<const float> hidden, int64_t n_tokens, int64_t n_embd, Pooling pooling);

// The pooling an embedding uses when the caller names none: the file's, or mean when the file
// says none (one vector per text is what callers of an embeddings endpoint expect).
Pooling default_pooling(const Hparams& hp);

}  // namespace vkgraph::models
