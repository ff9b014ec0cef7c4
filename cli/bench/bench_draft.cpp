#include "cli/bench/bench_draft.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "engine/core/error.h"
#include "engine/core/version.h"
#include "models/generation.h"
#include "models/session.h"
#include "models/speculative/model_drafter.h"
#include "models/speculative/ngram_drafter.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::cli {
namespace {

double mean(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

struct Generation {
  std::vector<int32_t> tokens;
  double seconds = 0;
  models::SpeculativeStats stats;
};

// Generates n tokens greedily after the prompt in a fresh plain cache, timing only the
// generation (the prompt's evaluation, and the draft model's, come before the clock starts).
Generation generate(const models::Model& target, Backend& backend, const std::vector<int32_t>& prompt, int64_t n,
                    const DraftBenchSpec* draft, const DraftBenchConfig& config) {
  models::SessionOptions options;
  options.n_ctx = int64_t(prompt.size()) + n + 1;
  options.sinks = 0;
  options.spare_slots = draft != nullptr ? models::verification_slots(config.params) : 0;
  models::Session session(target, backend, options);
  std::vector<float> logits = session.eval(prompt);
  models::SamplerParams greedy;
  greedy.temperature = 0.0f;
  models::Sampler sampler(greedy);

  std::unique_ptr<models::Drafter> drafter;
  if (draft != nullptr && draft->kind == "ngram") {
    models::NgramOptions ngram;
    ngram.min_match = config.ngram_min;
    drafter = std::make_unique<models::NgramDrafter>(ngram);
  } else if (draft != nullptr) {
    models::ModelDrafterOptions md;
    md.max_tokens = config.params.draft_max;
    md.p_min = config.p_min;
    models::SessionOptions draft_session = options;
    draft_session.spare_slots = 0;
    const models::Model& m = draft->kind == "self" ? target : *draft->model;
    drafter = std::make_unique<models::ModelDrafter>(m, backend, draft_session, md);
    // The draft model reads the prompt now, as the target did.
    drafter->propose({prompt, 1, &greedy, {}});
  }
  models::GenerateOptions g;
  g.max_tokens = n;
  g.ignore_eos = true;
  g.drafter = drafter.get();
  g.speculative = config.params;
  std::vector<int32_t> history = prompt;
  const models::GenerateResult result =
      models::generate(session, std::move(logits), sampler, history, g, [](const std::string&) {});
  VKGRAPH_CHECK(int64_t(result.tokens.size()) == n, "bench: generated {} of {} tokens", result.tokens.size(), n);
  return {result.tokens, result.seconds, result.speculative};
}

}  // namespace

double DraftBenchRow::plain_step_ms() const { return n_gen > 1 ? 1e3 * mean(plain_seconds) / double(n_gen - 1) : 0.0; }
double DraftBenchRow::target_step_ms() const {
  return stats.target_steps > 0 ? 1e3 * stats.target_seconds / double(stats.target_steps) : 0.0;
}
double DraftBenchRow::draft_ms_per_step() const {
  return stats.target_steps > 0 ? 1e3 * stats.draft_seconds / double(stats.target_steps) : 0.0;
}
double DraftBenchRow::plain_tps() const { return double(n_gen - 1) / mean(plain_seconds); }
double DraftBenchRow::speculative_tps() const { return double(n_gen - 1) / mean(speculative_seconds); }
double DraftBenchRow::speedup_mean() const { return mean(speedups); }
double DraftBenchRow::speedup_stddev() const { return stddev(speedups); }

std::vector<DraftBenchRow> run_draft_bench(const models::Model& target, Backend& backend, const std::string& device,
                                           const std::vector<DraftBenchSpec>& drafts, const DraftBenchConfig& config,
                                           const DraftBenchProgress& progress) {
  VKGRAPH_CHECK(config.reps >= 1, "-r must be at least 1 (got {})", config.reps);
  const Tokenizer& tok = target.tokenizer();
  const std::vector<int32_t> prompt = tok.encode(config.prompt, tok.add_bos(), true);
  VKGRAPH_CHECK(!prompt.empty(), "bench --draft: the prompt is empty");
  const std::string model_name =
      target.hparams().name.empty() ? std::filesystem::path(target.path()).stem().string() : target.hparams().name;
  std::vector<DraftBenchRow> rows;
  for (int64_t n : config.n_gen) {
    if (n <= 1) continue;  // no decode step to compare
    for (const DraftBenchSpec& draft : drafts) {
      DraftBenchRow row;
      row.model = model_name;
      row.device = device;
      row.backend = backend.name();
      row.draft = draft.label;
      row.n_prompt = int64_t(prompt.size());
      row.n_gen = n;
      row.reps = config.reps;
      // A warm-up of each: every step shape is prepared before anything is timed.
      progress(fmt::format("{} tg{}: warm-up", draft.label, n));
      generate(target, backend, prompt, n, nullptr, config);
      generate(target, backend, prompt, n, &draft, config);
      for (int r = 0; r < config.reps; ++r) {
        progress(fmt::format("{} tg{}: rep {}/{}", draft.label, n, r + 1, config.reps));
        const Generation plain = generate(target, backend, prompt, n, nullptr, config);
        const Generation spec = generate(target, backend, prompt, n, &draft, config);
        row.plain_seconds.push_back(plain.seconds);
        row.speculative_seconds.push_back(spec.seconds);
        row.speedups.push_back(plain.seconds / spec.seconds);
        row.stats = spec.stats;
        row.same_output = row.same_output && plain.tokens == spec.tokens;
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

std::string format_draft_rows(const std::vector<DraftBenchRow>& rows, const std::string& format) {
  if (format == "json" || format == "jsonl") {
    nlohmann::json all = nlohmann::json::array();
    std::string lines;
    for (const DraftBenchRow& r : rows) {
      nlohmann::json j = {{"model", r.model},
                          {"backend", r.backend},
                          {"device", r.device},
                          {"draft", r.draft},
                          {"n_prompt", r.n_prompt},
                          {"n_gen", r.n_gen},
                          {"reps", r.reps},
                          {"target_steps", r.stats.target_steps},
                          {"drafted", r.stats.drafted},
                          {"accepted", r.stats.accepted},
                          {"acceptance_rate", r.stats.acceptance_rate()},
                          {"tokens_per_step", r.stats.tokens_per_step()},
                          {"plain_step_ms", r.plain_step_ms()},
                          {"plain_ts", r.plain_tps()},
                          {"speculative_ts", r.speculative_tps()},
                          {"speedup_mean", r.speedup_mean()},
                          {"speedup_stddev", r.speedup_stddev()},
                          {"speedup_samples", r.speedups},
                          {"target_step_ms", r.target_step_ms()},
                          {"draft_ms_per_step", r.draft_ms_per_step()},
                          {"same_output", r.same_output},
                          {"build_version", version()},
                          {"build_commit", git_commit()}};
      lines += j.dump() + "\n";
      all.push_back(std::move(j));
    }
    return format == "json" ? all.dump(2) + "\n" : lines;
  }
  VKGRAPH_CHECK(format == "md", "-o {}: bench --draft writes md, json or jsonl", format);
  std::string out =
      "| model | backend | device | draft | test | accepted | tokens/step | plain ms/step | target ms/step | draft "
      "ms/step | plain t/s | speculative t/s | speed-up | same output |\n| --- | --- | --- | --- | --- | ---: | ---: | "
      "---: | ---: | ---: | ---: | ---: | ---: | --- |\n";
  for (const DraftBenchRow& r : rows) {
    out += fmt::format(
        "| {} | {} | {} | {} | tg{} | {}/{} ({:.1f}%) | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} | {:.2f} ± "
        "{:.2f} | {} |\n",
        r.model, r.backend, r.device, r.draft, r.n_gen, r.stats.accepted, r.stats.drafted,
        100.0 * r.stats.acceptance_rate(), r.stats.tokens_per_step(), r.plain_step_ms(), r.target_step_ms(),
        r.draft_ms_per_step(), r.plain_tps(), r.speculative_tps(), r.speedup_mean(), r.speedup_stddev(),
        r.same_output ? "yes" : "NO");
  }
  if (!rows.empty()) {
    out += fmt::format(
        "\nvkgraph {} ({}); prompt {} tokens; greedy; speed-up = plain time / speculative time for the "
        "same tokens, each repetition measuring both\n",
        version(), git_commit(), rows.front().n_prompt);
  }
  return out;
}

}  // namespace vkgraph::cli
