#include "cli/draft_options.h"

#include <fmt/format.h>

#include "engine/core/error.h"
#include "models/speculative/model_drafter.h"
#include "models/speculative/ngram_drafter.h"
#include "models/speculative/vocab_match.h"

namespace vkgraph::cli {

void add_draft_options(CLI::App& app, DraftOptions& o) {
  app.add_option("--draft", o.kind,
                 "speculative decoding: 'ngram' drafts by prompt lookup (continues the longest earlier match of "
                 "the last tokens), 'model' from --draft-model, 'none' (default)");
  app.add_option("--draft-model", o.model,
                 "speculative decoding with this smaller GGUF model as the drafter (it must have the target's "
                 "vocabulary)");
  app.add_option("--draft-max", o.params.draft_max, "most tokens drafted per target step")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--draft-min", o.params.draft_min, "drafts shorter than this are not verified (a plain step instead)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_option("--draft-ngram-min", o.ngram_min, "n-gram drafts: the shortest match of the last tokens to draft from")
      ->capture_default_str()
      ->check(CLI::Range(1, 16));
  app.add_option("--draft-p-min", o.p_min,
                 "draft model: stop drafting at a token the draft gives less than this probability (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.999));
}

bool drafting(const DraftOptions& o) {
  VKGRAPH_CHECK(o.kind.empty() || o.kind == "none" || o.kind == "ngram" || o.kind == "model",
                "--draft must be ngram, model or none (got '{}')", o.kind);
  VKGRAPH_CHECK(o.model.empty() || o.kind.empty() || o.kind == "model",
                "--draft {} and --draft-model {}: choose one kind of drafts", o.kind, o.model);
  VKGRAPH_CHECK(o.kind != "model" || !o.model.empty(), "--draft model needs --draft-model FILE");
  VKGRAPH_CHECK(o.params.draft_min <= o.params.draft_max, "--draft-min {} is more than --draft-max {}",
                o.params.draft_min, o.params.draft_max);
  return o.kind == "ngram" || o.kind == "model" || !o.model.empty();
}

models::SessionOptions with_draft_slots(models::SessionOptions session, const DraftOptions& o) {
  if (drafting(o)) session.spare_slots = models::verification_slots(o.params);
  return session;
}

DraftSetup make_drafter(const DraftOptions& o, const models::Model& target, Backend& backend,
                        const models::SessionOptions& session) {
  DraftSetup setup;
  if (!drafting(o)) return setup;
  if (o.model.empty()) {
    models::NgramOptions ngram;
    ngram.min_match = o.ngram_min;
    setup.drafter = std::make_unique<models::NgramDrafter>(ngram);
    setup.description = fmt::format("n-gram lookup (matches of at least {} tokens), up to {} drafts a step",
                                    o.ngram_min, o.params.draft_max);
    return setup;
  }
  setup.model = models::Model::load(o.model, backend);
  models::check_same_vocabulary(target, *setup.model);
  models::ModelDrafterOptions options;
  options.max_tokens = o.params.draft_max;
  options.p_min = o.p_min;
  models::SessionOptions draft_session = session;
  draft_session.spare_slots = 0;  // the drafter adds its own
  setup.drafter = std::make_unique<models::ModelDrafter>(*setup.model, backend, draft_session, options);
  setup.description = fmt::format("draft model {} ({} parameters), up to {} drafts a step", o.model,
                                  setup.model->parameter_count(), o.params.draft_max);
  return setup;
}

}  // namespace vkgraph::cli
