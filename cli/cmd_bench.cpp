// `vkgraph bench`: llama-bench style throughput tests (pp<N>, tg<N>, at KV depths) of one or
// more models on every selected backend and device in one run, with the roofline figures and
// an optional per-op profile. The measuring lives in cli/bench; this file parses the flags,
// makes synthetic models, shows progress and writes the results.

#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "cli/bench/bench_format.h"
#include "cli/bench/bench_kernel.h"
#include "cli/bench/bench_plot.h"
#include "cli/bench/bench_runner.h"
#include "cli/bench/bench_targets.h"
#include "cli/bench/device_report.h"
#include "cli/command.h"
#include "cli/hf_option.h"
#include "cli/model_options.h"
#include "cli/progress_bar.h"
#include "engine/backend/registry.h"
#include "engine/core/dtype.h"
#include "engine/core/error.h"
#include "models/bundled/default_model.h"
#include "models/quant_scheme.h"
#include "models/synth/synth_model.h"

namespace vkgraph::cli {
namespace {

struct BenchArgs {
  std::vector<std::string> models;
  std::vector<std::string> hf;     // -hf ORG/REPO[:QUANT], resolved through the Hugging Face cache
  std::vector<std::string> synth;  // PRESET:TYPE
  int64_t synth_layers = 0;        // 0: the preset's
  std::vector<int64_t> n_prompt{512};
  std::vector<int64_t> n_gen{128};
  std::vector<int64_t> depth{0};
  int reps = 5;
  std::vector<std::string> backends{default_backend_name()};
  std::vector<std::string> devices;
  bool ops = false;
  std::string output = "md";
  std::string plot;
  uint64_t seed = 1;
  std::vector<std::string> lora;  // FILE[:SCALE]: each model is measured without, then with them
  std::string kernel;             // --kernel: time one kernel-table row instead of models
};

// One status line on stderr: redrawn in place on a terminal; elsewhere (logs, pipes) a line at
// most every few seconds, so a log shows progress without a line per token.
class StatusLine {
 public:
  StatusLine() : terminal_(isatty(STDERR_FILENO) != 0) {}
  ~StatusLine() { clear(); }
  void show(const std::string& prefix, const std::string& text) {
    const auto now = std::chrono::steady_clock::now();
    if (terminal_) {
      std::fprintf(stderr, "\r\033[Kbench: %s%s", prefix.c_str(), text.c_str());
      std::fflush(stderr);
      shown_ = true;
    } else if (now - last_ >= kLogInterval || prefix != last_prefix_) {
      std::fprintf(stderr, "bench: %s%s\n", prefix.c_str(), text.c_str());
      last_ = now;
      last_prefix_ = prefix;
    }
  }
  void clear() {
    if (terminal_ && shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
  }
  void note(const std::string& text) {
    clear();
    std::fprintf(stderr, "bench: %s\n", text.c_str());
  }

 private:
  static constexpr std::chrono::seconds kLogInterval{5};
  bool terminal_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
  std::string last_prefix_;
};

// A directory for synthetic models, removed with them when the run ends.
class ScratchDir {
 public:
  ScratchDir() {
    path_ =
        std::filesystem::temp_directory_path() / fmt::format("vkgraph-bench-{}-{}", getpid(), std::random_device{}());
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct SynthSpec {
  const models::Preset* preset = nullptr;
  std::string type_name;  // a quantization scheme (models/quant_scheme.h)
};

SynthSpec parse_synth(const std::string& spec) {
  const size_t colon = spec.find(':');
  SynthSpec s;
  s.preset = &models::find_preset(spec.substr(0, colon));  // throws listing the presets
  s.type_name = colon == std::string::npos ? "f16" : spec.substr(colon + 1);
  models::find_quant_scheme(s.type_name, fmt::format("--synth {}: the weights", spec));  // throws listing them
  return s;
}

bench::ModelReport model_report(const models::Model& model) {
  bench::ModelReport r;
  r.path = model.path();
  r.name = model.hparams().name.empty() ? std::filesystem::path(model.path()).stem().string() : model.hparams().name;
  r.weight_type = model.weight_type();
  r.size_bytes = model.weight_bytes();
  r.params = model.parameter_count();
  return r;
}

std::unique_ptr<models::Model> load_model(const std::string& path, Backend& backend) {
  ProgressBar bar(fmt::format("loading {} on {}", std::filesystem::path(path).filename().string(), backend.name()));
  models::LoadOptions options;
  options.progress = [&bar](const models::LoadProgress& p) {
    bar.update(p.bytes_done, p.bytes_total);
    return true;
  };
  auto model = models::Model::load(path, backend, options);
  bar.finish();
  return model;
}

// The --lora adapters for one loaded model (each model and backend loads its own).
std::vector<models::AdapterUse> load_bench_adapters(const std::vector<std::string>& args, const models::Model& model,
                                                    Backend& backend) {
  std::vector<models::AdapterUse> uses;
  for (const std::string& arg : args) {
    const LoraArg l = parse_lora_arg(arg);
    uses.push_back({models::LoraAdapter::load(l.path, model, backend), l.scale});
  }
  return uses;
}

// "LoRA r8.gguf:1" for the model column of the rows measured with adapters.
std::string adapters_label(const std::vector<std::string>& args) {
  std::vector<std::string> parts;
  for (const std::string& arg : args) {
    const LoraArg l = parse_lora_arg(arg);
    parts.push_back(fmt::format("{}:{}", std::filesystem::path(l.path).filename().string(), l.scale));
  }
  return fmt::format("LoRA {}", fmt::join(parts, " + "));
}

int bench_command(const BenchArgs& a) {
  if (!a.kernel.empty()) {
    VKGRAPH_CHECK(a.devices.size() <= 1, "--kernel runs on one device; --device names {}", a.devices.size());
    return bench_kernel(a.kernel, a.devices.empty() ? "" : a.devices[0], a.reps);
  }
  // Everything that can be refused is refused before any model is written or loaded.
  bench::BenchConfig config;
  config.n_prompt = a.n_prompt;
  config.n_gen = a.n_gen;
  config.depth = a.depth;
  config.reps = a.reps;
  config.ops = a.ops;
  config.seed = a.seed;
  bench::check_config(config);
  const bench::OutputFormat format = bench::parse_output_format(a.output);
  std::vector<SynthSpec> synth;
  for (const std::string& s : a.synth) synth.push_back(parse_synth(s));
  for (const std::string& m : a.models) {
    VKGRAPH_CHECK(std::filesystem::is_regular_file(m), "-m: model file '{}' does not exist", m);
  }
  for (const std::string& l : a.lora) {
    const std::string file = parse_lora_arg(l).path;
    VKGRAPH_CHECK(std::filesystem::is_regular_file(file), "--lora: adapter file '{}' does not exist", file);
  }
  if (!a.plot.empty()) {
    const std::filesystem::path dir = std::filesystem::absolute(a.plot).parent_path();
    VKGRAPH_CHECK(std::filesystem::is_directory(dir), "--plot: folder '{}' does not exist", dir.string());
  }
  StatusLine status;
  const bench::TargetList targets = bench::resolve_targets(a.backends, a.devices);
  for (const std::string& note : targets.notes) status.note(note);

  std::vector<std::string> paths = a.models;
  for (const std::string& name : a.hf) paths.push_back(hf_model_path(name));
  std::unique_ptr<ScratchDir> scratch;
  for (const SynthSpec& s : synth) {
    if (!scratch) scratch = std::make_unique<ScratchDir>();
    const std::string path = scratch->file(fmt::format("{}-{}.gguf", s.preset->name, s.type_name));
    status.show("", fmt::format("writing synthetic {} ({})", s.preset->name, s.type_name));
    models::SynthOptions options;
    options.weights = s.type_name;
    options.seed = a.seed;
    options.n_layer = a.synth_layers;
    models::write_synthetic_model(*s.preset, options, path);
    paths.push_back(path);
  }
  if (paths.empty()) paths.push_back(models::default_model_path());

  std::vector<bench::BenchRow> rows;
  for (const bench::BenchTarget& target : targets.targets) {
    std::unique_ptr<Backend> backend = bench::create_target_backend(target);
    bench::DeviceReport device = bench::describe_device(*backend, target.device);
    const std::string where = fmt::format("{} on {}", device.backend, device.name);
    status.show(where + ": ", "measuring copy bandwidth");
    bench::probe_bandwidth(*backend, device);
    if (device.probe_bytes_per_second > 0.0) {
      status.note(fmt::format("{}: copy bandwidth {:.2f} GB/s ({})", where, device.probe_bytes_per_second / 1e9,
                              device.probe_method));
    }
    for (const std::string& path : paths) {
      status.clear();
      const std::unique_ptr<models::Model> model = load_model(path, *backend);
      const bench::ModelReport report = model_report(*model);
      bench::DeviceReport model_device = device;
      bench::describe_kernel_paths(*backend, *model, model_device);
      // With --lora, the model as it is and then with the adapters, in one run, so the rows
      // compare like for like (same machine state, same build).
      std::vector<std::vector<models::AdapterUse>> variants{{}};
      if (!a.lora.empty()) variants.push_back(load_bench_adapters(a.lora, *model, *backend));
      for (const std::vector<models::AdapterUse>& adapters : variants) {
        bench::BenchConfig variant = config;
        variant.adapters = adapters;
        bench::ModelReport named = report;
        if (!adapters.empty()) named.name += " + " + adapters_label(a.lora);
        const std::string prefix = fmt::format("{} | {} | ", named.name, where);
        std::vector<bench::BenchRow> got = bench::run_bench(*model, *backend, named, model_device, variant,
                                                            [&](const std::string& s) { status.show(prefix, s); });
        for (const bench::BenchRow& r : got) {
          status.note(fmt::format("{}{}: {:.2f} ± {:.2f} t/s", prefix, r.label(), r.ts_mean, r.ts_stddev));
        }
        rows.insert(rows.end(), got.begin(), got.end());
      }
    }
  }
  status.clear();

  const std::string text = bench::format_rows(rows, format);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  if (!a.plot.empty()) {
    std::ofstream out(a.plot, std::ios::binary);
    out << bench::plot_svg(rows);
    VKGRAPH_CHECK(out.good(), "--plot: could not write '{}'", a.plot);
    status.note(fmt::format("wrote the plot to {}", a.plot));
  }
  return 0;
}

const CommandRegistration registration{
    "bench", "Measure prompt (pp) and generation (tg) speed, llama-bench style, on every selected device",
    [](CLI::App& app) {
      auto a = std::make_shared<BenchArgs>();
      std::string presets;
      for (const auto& p : models::presets()) presets += (presets.empty() ? "" : ", ") + p.name;
      app.add_option("-m,--model", a->models, "GGUF model file(s) (default: the bundled stories260K)");
      add_hf_option(app, a->hf);
      app.add_option("--synth", a->synth,
                     "generate a synthetic model PRESET:TYPE for the run (TYPE a quantization scheme: " +
                         models::quant_scheme_names() + "); presets: " + presets);
      app.add_option("--synth-layers", a->synth_layers, "override the layer count of --synth models (0: the preset's)")
          ->check(CLI::NonNegativeNumber);
      app.add_option("-p,--n-prompt", a->n_prompt, "prompt lengths to test as pp<N>, comma list (0: none)")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("-n,--n-gen", a->n_gen, "generation lengths to test as tg<N>, comma list (0: none)")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("-d,--n-depth", a->depth, "KV cache positions filled before each test, comma list")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("-r,--repetitions", a->reps, "timed repetitions of each test, after a warm-up")
          ->capture_default_str();
      app.add_option("--backend", a->backends, "backends, comma list: vulkan, cpu, cuda (where built)")
          ->delimiter(',')
          ->capture_default_str();
      app.add_option("--device", a->devices,
                     "devices of the GPU backends, comma list: index, name substring, or 'all' (default: the "
                     "backend's default device)")
          ->delimiter(',');
      app.add_flag("--ops", a->ops, "per-op breakdown of one decode step (timestamp queries) with the tg rows");
      app.add_option("-o,--output", a->output, "output format: md, csv, json, jsonl")->capture_default_str();
      app.add_option("--plot", a->plot, "also write a bar chart of tokens/s to this SVG file");
      app.add_option("--seed", a->seed, "seed of the random prompt tokens and synthetic weights")
          ->capture_default_str();
      app.add_option("--lora", a->lora,
                     "LoRA adapter FILE[:SCALE] applied unmerged (repeatable): each model is measured without, then "
                     "with the adapters, in one run")
          ->type_name("FILE[:SCALE]");
      app.add_option("--kernel", a->kernel,
                     "time one row of the Vulkan kernel table (a row name, or a shader: each of its rows) on the op "
                     "cases it runs, each checked against the CPU reference (`vkgraph test-ops --list-kernels`)");
      return [a] { return bench_command(*a); };
    }};

}  // namespace
}  // namespace vkgraph::cli
