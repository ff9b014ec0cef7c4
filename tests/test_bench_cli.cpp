// `vkgraph bench`: the acceptance command (rows pp128 and tg32 with every field), the other
// output formats, and the refusals (bad flag values, models that do not load, missing devices).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "engine/backend/registry.h"
#include "run_command.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// SmolLM2-135M's parameters: embedding 49152 x 576 (tied to the output) + 30 layers of q, o
// (576 x 576), k, v (192 x 576), gate, up, down (1536 x 576) and two 576-wide norms + the final
// norm.
constexpr uint64_t kSmolParams =
    49152ull * 576 + 30ull * (2 * 576 * 576 + 2 * 192 * 576 + 3 * 1536 * 576 + 2 * 576) + 576;
constexpr uint64_t kSmolNormParams = 30ull * 2 * 576 + 576;

void check_common_fields(const nlohmann::json& row) {
  for (const char* key :
       {"model", "model_path", "weight_type", "backend", "device", "vendor", "driver", "driver_version", "api_version",
        "matmul_path", "attention_path", "build_version", "build_commit", "test"}) {
    INFO(key);
    REQUIRE(row.contains(key));
    REQUIRE(row[key].is_string());
    CHECK(!row[key].get<std::string>().empty());
  }
  CHECK(row["ts_mean"].get<double>() > 0.0);
  CHECK(row["ts_stddev"].get<double>() >= 0.0);
  const auto samples = row["samples_ts"].get<std::vector<double>>();
  CHECK(int(samples.size()) == row["reps"].get<int>());
  for (double s : samples) CHECK(s > 0.0);
  // The mean is the mean of the samples.
  double sum = 0.0;
  for (double s : samples) sum += s;
  CHECK(std::abs(sum / double(samples.size()) - row["ts_mean"].get<double>()) <= 1e-9 * sum);
}

}  // namespace

TEST_CASE("bench acceptance: smollm2-135m q4_0 pp128 and tg32 rows carry every field", "[bench][cli][slow]") {
  const auto r = testing::run_vkgraph("bench --synth smollm2-135m:q4_0 -p 128 -n 32 -r 3 -o json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  REQUIRE(rows.is_array());
  REQUIRE(rows.size() == 2);
  const nlohmann::json& pp = rows[0];
  const nlohmann::json& tg = rows[1];
  CHECK(pp["test"] == "pp128");
  CHECK(tg["test"] == "tg32");
  for (const nlohmann::json& row : rows) {
    check_common_fields(row);
    CHECK(row["reps"] == 3);
    CHECK(row["depth"] == 0);
    CHECK(row["backend"] == "vulkan");
    CHECK_THAT(row["model"].get<std::string>(), ContainsSubstring("smollm2-135m"));
    CHECK(row["weight_type"] == "q4_0");
    CHECK(row["params"].get<uint64_t>() == kSmolParams);
    // Q4_0 matrices: 18 bytes per 32 weights; the norms stay f32.
    CHECK(row["size_bytes"].get<uint64_t>() == (kSmolParams - kSmolNormParams) / 32 * 18 + kSmolNormParams * 4);
    CHECK_THAT(row["api_version"].get<std::string>(), StartsWith("1."));
    const std::string matmul = row["matmul_path"], attention = row["attention_path"];
    CHECK((matmul == "portable" || matmul == "coopmat" || matmul == "coopmat+portable"));
    CHECK((attention == "portable" || attention == "coopmat" || attention == "coopmat+portable"));
    CHECK(row["probe_bytes_per_second"].get<double>() > 1e8);  // any device copies faster than 100 MB/s
  }
  CHECK(pp["n_prompt"] == 128);
  CHECK(pp["n_gen"] == 0);
  CHECK(tg["n_prompt"] == 0);
  CHECK(tg["n_gen"] == 32);

  // pp: FLOP/s = FLOPs per token (2 x matmul params + attention) x t/s.
  const double matmul_params = double(kSmolParams - kSmolNormParams);
  const double pp_flops = pp["flops_per_token"].get<double>();
  CHECK(pp_flops > 2.0 * matmul_params);
  CHECK(pp_flops < 2.0 * matmul_params * 1.05);  // attention over 128 positions is ~2% of it
  CHECK(std::abs(pp["flops_per_second"].get<double>() - pp_flops * pp["ts_mean"].get<double>()) <= 1e-6 * pp_flops);
  CHECK(pp["bytes_per_token"].is_null());

  // tg: bytes per token are the weights (all but one embedding row's worth) plus the K/V read.
  const double size = double(tg["size_bytes"].get<uint64_t>());
  const double bytes = tg["bytes_per_token"].get<double>();
  CHECK(bytes > size * 0.99);
  CHECK(bytes < size * 1.02);
  const double effective = tg["effective_bytes_per_second"].get<double>();
  CHECK(std::abs(effective - bytes * tg["ts_mean"].get<double>()) <= 1e-6 * effective);
  CHECK(std::abs(tg["probe_percent"].get<double>() - 100.0 * effective / tg["probe_bytes_per_second"].get<double>()) <=
        1e-6 * tg["probe_percent"].get<double>());
  CHECK(tg["flops_per_second"].is_null());
}

TEST_CASE("bench tg rows report the decode step's bytes ratio and host share", "[bench][cli]") {
  const auto r = testing::run_vkgraph("bench --synth test-llama:q8_0 -p 8 -n 4 -r 2 -d 0,8 -o json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  REQUIRE(rows.size() == 4);
  int tg_rows = 0;
  for (const nlohmann::json& row : rows) {
    INFO(row.dump());
    for (const char* key : {"decode_bytes_read", "decode_bytes_needed", "decode_bytes_ratio", "decode_host_ms",
                            "decode_step_ms", "decode_host_percent"}) {
      REQUIRE(row.contains(key));
      if (row["n_gen"] == 0) CHECK(row[key].is_null());  // pp rows have no decode step
    }
    if (row["n_gen"] == 0) continue;
    ++tg_rows;
    // What the step must read: the weights a token touches (all but the unused embedding rows
    // of an untied model) and depth + 1 positions of K/V, fewer than the tg row's average over
    // its 4 steps. The step reads at least that, and not wildly more.
    const double needed = row["decode_bytes_needed"].get<double>();
    CHECK(needed > 0.5 * double(row["size_bytes"].get<uint64_t>()));
    CHECK(needed < row["bytes_per_token"].get<double>());
    const double ratio = row["decode_bytes_ratio"].get<double>();
    CHECK(std::isfinite(ratio));
    CHECK(ratio >= 1.0);
    CHECK(ratio < 10.0);
    CHECK(std::abs(row["decode_bytes_read"].get<double>() / needed - ratio) <= 1e-9 * ratio);
    // Host time is part of the step.
    const double percent = row["decode_host_percent"].get<double>();
    CHECK(percent >= 0.0);
    CHECK(percent <= 100.0);
    const double host = row["decode_host_ms"].get<double>(), step = row["decode_step_ms"].get<double>();
    CHECK(host > 0.0);
    CHECK(host <= step);
    CHECK(std::abs(100.0 * host / step - percent) <= 1e-6 * 100.0);
  }
  CHECK(tg_rows == 2);
  // A deeper cache must be read too: more bytes needed at depth 8 than at 0.
  CHECK(rows[3]["decode_bytes_needed"].get<double>() > rows[1]["decode_bytes_needed"].get<double>());

  const auto md = testing::run_vkgraph("bench --synth test-llama:q8_0 -p 0 -n 4 -r 1 -o md");
  INFO(md.err);
  REQUIRE(md.exit_code == 0);
  CHECK_THAT(md.out, ContainsSubstring("| model | backend | device | depth | bytes read | bytes needed | ratio |"));
  CHECK_THAT(md.out, ContainsSubstring("host %"));
}

TEST_CASE("bench -o md prints a table a person can paste", "[bench][cli]") {
  const auto r =
      testing::run_vkgraph("bench --synth test-llama:q8_0 -p 16 -n 4 -r 2 -d 0,8 -o md --backend vulkan,cuda");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() >= 6);
  CHECK_THAT(lines[0], StartsWith("| model | type | size | params | backend | device |"));
  CHECK_THAT(lines[1], StartsWith("| --- |"));
  const auto bars = [](const std::string& s) { return std::count(s.begin(), s.end(), '|'); };
  std::vector<std::string> tests;
  for (size_t i = 2; i < lines.size() && !lines[i].empty(); ++i) {
    CHECK(bars(lines[i]) == bars(lines[0]));
    CHECK_THAT(lines[i], ContainsSubstring("q8_0"));
    CHECK_THAT(lines[i], ContainsSubstring(" ± "));
    tests.push_back(lines[i]);
  }
  REQUIRE(tests.size() == 4);
  CHECK_THAT(tests[0], ContainsSubstring("| pp16 |"));
  CHECK_THAT(tests[1], ContainsSubstring("| tg4 |"));
  CHECK_THAT(tests[2], ContainsSubstring("| pp16 @ d8 |"));
  CHECK_THAT(tests[3], ContainsSubstring("| tg4 @ d8 |"));
  CHECK_THAT(tests[0], ContainsSubstring("GFLOP/s"));
  CHECK_THAT(tests[1], ContainsSubstring("GB/s"));
  CHECK_THAT(r.out, ContainsSubstring("build: "));
  if (!has_backend("cuda")) CHECK_THAT(r.err, ContainsSubstring("cuda: not built"));
}

TEST_CASE("bench -o csv and -o jsonl give one record per test", "[bench][cli]") {
  const std::string common = "bench --synth test-llama:f16 -p 8 -n 2 -r 1 --backend vulkan,cpu --device all ";
  const auto csv = testing::run_vkgraph(common + "-o csv");
  INFO(csv.err);
  REQUIRE(csv.exit_code == 0);
  const std::vector<std::string> lines = lines_of(csv.out);
  REQUIRE(lines.size() == 5);  // header + pp8 and tg2 on two backends
  CHECK_THAT(lines[0], StartsWith("model,model_path,weight_type,size_bytes,params,backend,device,"));
  const auto commas = [](const std::string& s) { return std::count(s.begin(), s.end(), ','); };
  for (size_t i = 1; i < lines.size(); ++i) {
    // The device name has commas ("llvmpipe (LLVM 15, 256 bits)"), so it is quoted; count the
    // fields outside quotes.
    bool quoted = false;
    long fields = 1;
    for (char c : lines[i]) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++fields;
    }
    CHECK(fields == commas(lines[0]) + 1);
  }
  CHECK_THAT(lines[1], ContainsSubstring(",vulkan,"));
  CHECK_THAT(lines[3], ContainsSubstring(",cpu,"));

  const auto jsonl = testing::run_vkgraph(common + "-o jsonl");
  INFO(jsonl.err);
  REQUIRE(jsonl.exit_code == 0);
  const std::vector<std::string> records = lines_of(jsonl.out);
  REQUIRE(records.size() == 4);
  std::vector<std::string> seen;
  for (const std::string& line : records) {
    const nlohmann::json row = nlohmann::json::parse(line);
    check_common_fields(row);
    seen.push_back(row["backend"].get<std::string>() + " " + row["test"].get<std::string>());
  }
  CHECK(seen == std::vector<std::string>{"vulkan pp8", "vulkan tg2", "cpu pp8", "cpu tg2"});
}

TEST_CASE("bench refuses bad flag values with a clear error", "[bench][cli]") {
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"-p abc", "abc"},
      {"-r 0", "-r/--repetitions: 0 is out of range"},
      {"-n 4 --n-depth=-3", "-d/--n-depth: -3 is out of range"},
      {"-o xml", "unknown format 'xml'"},
      {"-p 0 -n 0", "nothing to measure"},
      {"--backend vulcan", "unknown backend 'vulcan'"},
      {"--synth gpt-9:q4_0", "unknown preset 'gpt-9'"},
      {"--synth test-llama:q7_k",
       "the weights must be one of q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl, iq4_xs, q2_k, "
       "q3_k_m, q4_k_s, q4_k_m, q5_k_m, q6_k, bf16, f16, f32 (got 'q7_k')"},
      {"--plot /no/such/dir/plot.svg", "--plot: folder '/no/such/dir' does not exist"},
  };
  for (const Case& c : cases) {
    INFO(c.args);
    const auto r = testing::run_vkgraph("bench " + c.args);
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, ContainsSubstring(c.message));
    CHECK(r.out.empty());
  }
}

TEST_CASE("bench refuses a model that does not load and a device that does not exist", "[bench][cli]") {
  testing::TempDir dir;
  {
    const auto r = testing::run_vkgraph("bench -m " + testing::shell_quote(dir.file("missing.gguf")));
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, ContainsSubstring("missing.gguf' does not exist"));
  }
  {
    const std::string junk = dir.file("junk.gguf");
    std::ofstream(junk) << "this is not a GGUF file, just text long enough to be read as a header";
    const auto r = testing::run_vkgraph("bench -p 8 -n 0 -r 1 -m " + testing::shell_quote(junk));
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, ContainsSubstring("junk.gguf"));
    CHECK(r.out.empty());
  }
  for (const std::string device : {"99", "no-such-gpu"}) {
    const auto r = testing::run_vkgraph("bench -p 8 -n 0 --device " + device);
    INFO(r.err);
    CHECK(r.exit_code != 0);
    CHECK_THAT(r.err, ContainsSubstring(device));
    CHECK_THAT(r.err, ContainsSubstring("llvmpipe"));  // the devices there are are listed
  }
  {
    // A backend this build lacks (or whose device is missing) is named, and with nothing else
    // to measure the run fails.
    const auto r = testing::run_vkgraph("bench -p 8 -n 0 --backend cuda");
    INFO(r.err);
    if (!has_backend("cuda")) {
      CHECK(r.exit_code != 0);
      CHECK_THAT(r.err, ContainsSubstring("cuda: not built"));
    } else if (r.exit_code != 0) {
      CHECK_THAT(r.err, ContainsSubstring("no CUDA device"));
    }
  }
}
