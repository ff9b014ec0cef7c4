#pragma once
// Shared by the speculative-decoding tests: draft models with stories260K's vocabulary (one that
// predicts nothing the target does, one close to it) and greedy generations to compare.

#include <catch2/catch_test_macros.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "models/bundled/default_model.h"
#include "models/generation.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/model.h"
#include "models/session.h"
#include "models/speculative/drafter.h"
#include "models/synth/synth_model.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::test {

// stories260K's shapes and vocabulary with random weights: a draft that predicts nothing the
// target does (most drafts rejected).
inline std::string write_mismatched_draft(const std::string& path) {
  models::SynthOptions options;
  options.weights = "f32";
  options.seed = 7;
  options.vocab_from = models::default_model_path();
  models::write_synthetic_model(models::find_preset("stories260k"), options, path);
  return path;
}

// stories260K with Gaussian noise of `relative` times each value's row RMS added to the output
// matrix: a draft close to the target but not equal (some drafts accepted, some not).
inline std::string write_perturbed_copy(const std::string& path, float relative, uint64_t seed) {
  const gguf::GgufFile src = gguf::GgufFile::open(models::default_model_path());
  gguf::GgufWriter w(src.alignment());
  for (const gguf::MetadataEntry& e : src.metadata()) {
    if (e.key != "general.alignment") w.set(e.key, e.value);
  }
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 1.0f);
  for (const gguf::TensorInfo& t : src.tensors()) {
    const std::span<const std::byte> bytes = src.data(t);
    std::vector<std::byte> data(bytes.begin(), bytes.end());
    if (t.name == "output.weight") {
      REQUIRE(t.type == DType::F32);
      const auto cols = size_t(t.shape.back());
      std::vector<float> v(data.size() / 4);
      std::memcpy(v.data(), data.data(), data.size());
      for (size_t r = 0; r < v.size() / cols; ++r) {
        double ss = 0;
        for (size_t c = 0; c < cols; ++c) ss += double(v[r * cols + c]) * v[r * cols + c];
        const auto rms = float(std::sqrt(ss / double(cols)));
        for (size_t c = 0; c < cols; ++c) v[r * cols + c] += relative * rms * noise(rng);
      }
      std::memcpy(data.data(), v.data(), data.size());
    }
    w.add_tensor(t.name, t.type, t.shape, std::move(data));
  }
  w.write(path);
  return path;
}

struct Generated {
  std::vector<int32_t> tokens;
  models::SpeculativeStats stats;
};

// `n` greedy tokens after "Once upon a time" (end-of-text ignored, so every run is n long), with
// `drafter` (nullptr: plain decoding) and a session of `options` (spare slots added as needed).
inline Generated greedy_generation(const models::Model& model, Backend& backend, models::SessionOptions options,
                                   models::Drafter* drafter, int64_t n, const models::SpeculativeParams& params = {}) {
  if (drafter != nullptr) options.spare_slots = models::verification_slots(params);
  models::Session session(model, backend, options);
  const Tokenizer& tok = model.tokenizer();
  std::vector<int32_t> history = tok.encode("Once upon a time", tok.add_bos(), true);
  std::vector<float> logits = session.eval(history);
  models::SamplerParams greedy;
  greedy.temperature = 0.0f;
  models::Sampler sampler(greedy);
  models::GenerateOptions g;
  g.max_tokens = n;
  g.ignore_eos = true;
  g.drafter = drafter;
  g.speculative = params;
  const models::GenerateResult r =
      models::generate(session, std::move(logits), sampler, history, g, [](const std::string&) {});
  CHECK(session.n_tentative() == 0);
  return {r.tokens, r.speculative};
}

}  // namespace vkgraph::test
