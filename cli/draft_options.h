#pragma once
// The speculative-decoding options `run` and `chat` share: --draft ngram, --draft-model FILE,
// --draft-max, --draft-min, --draft-ngram-min, --draft-p-min; and the drafter they resolve to.

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "models/model.h"
#include "models/session.h"
#include "models/speculative/drafter.h"
#include "models/speculative/speculative_params.h"

namespace vkgraph::cli {

struct DraftOptions {
  std::string kind;   // --draft: "", "none", "ngram" or "model"
  std::string model;  // --draft-model FILE (implies --draft model)
  models::SpeculativeParams params;
  int32_t ngram_min = 2;
  float p_min = 0.0f;
};

void add_draft_options(CLI::App& app, DraftOptions& options);

// Whether the options ask for speculative decoding (checks that they are consistent).
bool drafting(const DraftOptions& options);

// The target session's options with the spare slots verification needs.
models::SessionOptions with_draft_slots(models::SessionOptions session, const DraftOptions& options);

struct DraftSetup {
  std::unique_ptr<models::Model> model;  // the draft model (--draft-model)
  std::unique_ptr<models::Drafter> drafter;
  std::string description;  // "n-gram lookup (...)" or "draft model FILE (...)", for logs
};

// Loads the draft model on `backend` (checking its vocabulary against the target's) or makes
// the n-gram drafter; an empty setup when no drafting is asked for. `session` sizes the draft
// model's own cache (the target's context).
DraftSetup make_drafter(const DraftOptions& options, const models::Model& target, Backend& backend,
                        const models::SessionOptions& session);

}  // namespace vkgraph::cli
