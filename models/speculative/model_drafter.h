#pragma once
// Drafts from a smaller model with the target's vocabulary (checked: vocab_match.h). It keeps a
// session of its own, kept in step with the target's context lazily: at each proposal it keeps
// the longest prefix of what it has evaluated that the context still starts with (its drafts
// that the target accepted included), evaluates the rest, then drafts one token at a time as
// tentative tokens of its session, so the drafts the target rejects roll back exactly as the
// target's do.

#include <memory>
#include <optional>
#include <vector>

#include "engine/backend/backend.h"
#include "models/model.h"
#include "models/session.h"
#include "models/speculative/drafter.h"

namespace vkgraph::models {

struct ModelDrafterOptions {
  int32_t max_tokens = 8;  // the most tokens one proposal drafts (its session's spare slots)
  // Stop drafting at a token the draft itself gives less than this probability (0: never): a
  // draft that is unsure is usually wrong, and each rejected token costs a draft step.
  float p_min = 0.0f;
};

class ModelDrafter final : public Drafter {
 public:
  // `session` sizes the draft's own cache (the target's -c and --sinks, usually); the draft
  // model must outlive the drafter.
  ModelDrafter(const Model& draft, Backend& backend, SessionOptions session, const ModelDrafterOptions& options);
  Draft propose(const DraftRequest& request) override;
  const char* kind() const override { return "model"; }
  const Session& session() const { return *session_; }
  // Draft-model steps run since construction (for statistics).
  int64_t steps() const { return steps_; }

 private:
  // Brings the session to hold `context` and returns the logits after its last token.
  std::vector<float> sync(std::span<const int32_t> context);
  Sampler& sampler_for(const SamplerParams& params);

  ModelDrafterOptions options_;
  std::unique_ptr<Session> session_;
  // What the session holds, in order: evaluated tokens, then the last proposal's tentative ones.
  std::vector<int32_t> held_;
  std::optional<Sampler> sampler_;
  SamplerParams sampler_params_;
  int64_t steps_ = 0;
};

}  // namespace vkgraph::models
