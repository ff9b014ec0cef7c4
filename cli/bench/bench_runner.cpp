#include "cli/bench/bench_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "cli/bench/op_profile.h"
#include "cli/bench/roofline.h"
#include "cli/bench/step_costs.h"
#include "engine/core/error.h"
#include "engine/core/version.h"
#include "models/session.h"

namespace vkgraph::bench {
namespace {

// The KV cache is filled in batches of this many tokens, as llama-bench's default n_batch
// splits a deep prompt; filling is not timed.
constexpr int64_t kFillBatch = 512;

// Test sizes and depths above this are refused: the KV cache of a 16M-slot run would not fit
// any device, and Session refuses more anyway.
constexpr int64_t kMaxTokens = int64_t(1) << 24;

// The per-op profile compares minimums of runs; a few more than a quick -r 1 or 2 make the
// minimum a steady figure on a busy machine.
constexpr int kMinProfileRuns = 3;

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

class TokenSource {
 public:
  TokenSource(uint64_t seed, int64_t n_vocab) : rng_(seed), dist_(0, int32_t(n_vocab - 1)) {}
  std::vector<int32_t> next(int64_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (int32_t& t : v) t = dist_(rng_);
    return v;
  }

 private:
  std::mt19937_64 rng_;
  std::uniform_int_distribution<int32_t> dist_;
};

BenchRow make_row(const ModelReport& model, const DeviceReport& device, std::string test, int64_t depth) {
  BenchRow row;
  row.model = model;
  row.device = device;
  row.build_version = version();
  row.build_commit = git_commit();
  row.test = std::move(test);
  row.depth = depth;
  return row;
}

void finish_row(BenchRow& row) {
  row.reps = int(row.samples_ts.size());
  row.ts_mean = mean_of(row.samples_ts);
  row.ts_stddev = stddev_of(row.samples_ts);
}

}  // namespace

double mean_of(const std::vector<double>& v) {
  if (v.empty()) return 0.0;
  return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double stddev_of(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean_of(v);
  double sum = 0.0;
  for (double x : v) sum += (x - m) * (x - m);
  return std::sqrt(sum / double(v.size() - 1));
}

void check_config(const BenchConfig& c) {
  const auto check_list = [](const std::vector<int64_t>& values, const char* flag, int64_t min) {
    VKGRAPH_CHECK(!values.empty(), "{}: no value given", flag);
    for (int64_t v : values) {
      VKGRAPH_CHECK(v >= min && v <= kMaxTokens, "{}: {} is out of range (expected {} to {})", flag, v, min,
                    kMaxTokens);
    }
  };
  check_list(c.n_prompt, "-p/--n-prompt", 0);
  check_list(c.n_gen, "-n/--n-gen", 0);
  check_list(c.depth, "-d/--n-depth", 0);
  VKGRAPH_CHECK(c.reps >= 1 && c.reps <= 10000, "-r/--repetitions: {} is out of range (expected 1 to 10000)", c.reps);
  const bool any_test = std::any_of(c.n_prompt.begin(), c.n_prompt.end(), [](int64_t v) { return v > 0; }) ||
                        std::any_of(c.n_gen.begin(), c.n_gen.end(), [](int64_t v) { return v > 0; });
  VKGRAPH_CHECK(any_test, "nothing to measure: every -p and -n value is 0");
}

int64_t context_needed(const BenchConfig& c) {
  const int64_t depth = *std::max_element(c.depth.begin(), c.depth.end());
  const int64_t test = std::max(*std::max_element(c.n_prompt.begin(), c.n_prompt.end()),
                                *std::max_element(c.n_gen.begin(), c.n_gen.end()));
  return depth + std::max<int64_t>(test, 1);
}

std::vector<BenchRow> run_bench(const models::Model& model, Backend& backend, const ModelReport& model_report,
                                const DeviceReport& device, const BenchConfig& config, const ProgressFn& progress) {
  check_config(config);
  const int64_t n_ctx = context_needed(config);
  models::SessionOptions session_options;
  session_options.n_ctx = n_ctx;
  models::Session session(model, backend, session_options);
  session.set_adapters(config.adapters);
  const TokenCost cost = token_cost(model, session_options.kv_dtype);
  TokenSource tokens(config.seed, model.hparams().n_vocab);
  const auto say = [&](const std::string& s) {
    if (progress) progress(s);
  };

  std::vector<BenchRow> rows;
  for (int64_t depth : config.depth) {
    // Fill the cache once per depth; every repetition then forgets what it added (truncate).
    session.reset();
    for (int64_t done = 0; done < depth;) {
      const int64_t n = std::min(kFillBatch, depth - done);
      say(fmt::format("filling the KV cache: {}/{} positions", done, depth));
      session.eval(tokens.next(n));
      done += n;
    }

    for (int64_t n_prompt : config.n_prompt) {
      if (n_prompt == 0) continue;
      BenchRow row = make_row(model_report, device, fmt::format("pp{}", n_prompt), depth);
      row.n_prompt = n_prompt;
      for (int rep = -1; rep < config.reps; ++rep) {  // rep -1: the warm-up (pipelines, first touch)
        say(rep < 0 ? fmt::format("{}: warm-up", row.label())
                    : fmt::format("{}: rep {}/{}", row.label(), rep + 1, config.reps));
        session.truncate(depth);
        const std::vector<int32_t> prompt = tokens.next(n_prompt);
        const auto start = Clock::now();
        session.eval(prompt);
        const double s = seconds_since(start);
        if (rep >= 0) row.samples_ts.push_back(double(n_prompt) / s);
      }
      finish_row(row);
      if (config.ops) {
        say(fmt::format("per-op profile of a {}-token prompt step @ d{}", n_prompt, depth));
        row.ops = profile_step(model, backend, n_ctx, depth, n_prompt, std::max(config.reps, kMinProfileRuns),
                               config.adapters);
      }
      row.flops_per_token = pp_flops_per_token(cost, depth, n_prompt);
      row.flops_per_second = *row.flops_per_token * row.ts_mean;
      rows.push_back(std::move(row));
    }

    std::optional<OpProfile> ops;
    std::optional<DecodeStepCosts> decode;
    for (int64_t n_gen : config.n_gen) {
      if (n_gen == 0) continue;
      BenchRow row = make_row(model_report, device, fmt::format("tg{}", n_gen), depth);
      row.n_gen = n_gen;
      // Warm-up: one decode step prepares the step's executable (as llama-bench's tg warm-up).
      say(fmt::format("{}: warm-up", row.label()));
      session.truncate(depth);
      session.eval(tokens.next(1));
      for (int rep = 0; rep < config.reps; ++rep) {
        session.truncate(depth);
        const std::vector<int32_t> ids = tokens.next(n_gen);
        const auto start = Clock::now();
        for (int64_t i = 0; i < n_gen; ++i) {
          if (i % 8 == 0) say(fmt::format("{}: rep {}/{}, token {}/{}", row.label(), rep + 1, config.reps, i, n_gen));
          session.eval(std::span<const int32_t>(&ids[size_t(i)], 1));
        }
        row.samples_ts.push_back(double(n_gen) / seconds_since(start));
      }
      finish_row(row);
      row.bytes_per_token = tg_bytes_per_token(cost, depth, n_gen);
      row.effective_bytes_per_second = *row.bytes_per_token * row.ts_mean;
      if (device.probe_bytes_per_second > 0.0) {
        row.probe_percent = 100.0 * *row.effective_bytes_per_second / device.probe_bytes_per_second;
      }
      if (!decode) {
        say(fmt::format("decode step bytes and host time @ d{}", depth));
        decode = measure_decode_step(model, backend, depth, std::max(config.reps, kMinProfileRuns), config.adapters);
      }
      row.decode = decode;
      if (config.ops) {
        if (!ops) {
          say(fmt::format("per-op profile of a decode step @ d{}", depth));
          ops = profile_step(model, backend, n_ctx, depth, 1, std::max(config.reps, kMinProfileRuns), config.adapters);
        }
        row.ops = ops;
      }
      rows.push_back(std::move(row));
    }
  }
  return rows;
}

}  // namespace vkgraph::bench
