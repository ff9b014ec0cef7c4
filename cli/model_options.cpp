#include "cli/model_options.h"

#include <cmath>
#include <cstdlib>

#include "cli/hf_option.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/bundled/default_model.h"
#include "models/quantize.h"

namespace vkgraph::cli {

void add_model_options(CLI::App& app, ModelOptions& o) {
  CLI::Option* model = app.add_option("-m,--model", o.model, "GGUF model file (default: the bundled stories260K)");
  add_hf_option(app, o.hf)->excludes(model);
  app.add_option("-c,--ctx-size", o.n_ctx, "context size in tokens (0: the model's, at most 4096)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--sinks", o.sinks,
                 "KV cache ring: tokens kept as attention sinks when the context is full, the oldest of the rest "
                 "being overwritten so generation goes on (0: no ring, stop at the context size)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber)
      ->each([&o](const std::string&) { o.sinks_given = true; });
  app.add_option(
      "--backend", o.backend,
      "vulkan, cpu or cuda (where built; `vkgraph devices` lists them; default: " + default_backend_name() + ")");
  app.add_option("--device", o.device, "device index or name substring (default: $VKGRAPH_DEVICE or the first GPU)");
  app.add_option("--weights", o.weights,
                 "convert f32/f16/bf16 weights while loading, as `vkgraph quantize --type` would: " +
                     models::quant_scheme_names());
  app.add_option("--lora", o.lora,
                 "LoRA adapter FILE[:SCALE] in llama.cpp's GGUF adapter format, applied unmerged at SCALE (default "
                 "1); repeat for several")
      ->type_name("FILE[:SCALE]");
  app.add_flag("--lora-merge", o.lora_merge,
               "merge the --lora adapters into the weights while loading (quantized weights are quantized again)");
  app.add_flag("--check-tensors", o.check_tensors,
               "read every weight value while loading and refuse a file holding NaN or infinities (always checked: "
               "norms, biases and quantized block scales)");
}

LoraArg parse_lora_arg(const std::string& arg) {
  LoraArg out{arg, 1.0f};
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos || colon == 0) return out;
  const std::string tail = arg.substr(colon + 1);
  char* end = nullptr;
  const float scale = std::strtof(tail.c_str(), &end);
  if (tail.empty() || end != tail.c_str() + tail.size()) return out;  // not a number: part of the path
  VKGRAPH_CHECK(std::isfinite(scale), "--lora {}: the scale '{}' is not a finite number", arg, tail);
  out.path = arg.substr(0, colon);
  out.scale = scale;
  return out;
}

std::string model_path(const ModelOptions& o) {
  if (!o.hf.empty()) return hf_model_path(o.hf);
  return o.model.empty() ? models::default_model_path() : o.model;
}

std::unique_ptr<Backend> create_model_backend(const ModelOptions& o) {
  return create_backend(o.backend.empty() ? default_backend_name() : o.backend, o.device);
}

models::LoadOptions load_options(const ModelOptions& o) {
  models::LoadOptions load;
  if (!o.weights.empty()) load.weights = models::find_quant_scheme(o.weights, "--weights").name;
  VKGRAPH_CHECK(!o.lora_merge || !o.lora.empty(), "--lora-merge: no --lora adapter to merge");
  if (o.lora_merge) {
    for (const std::string& arg : o.lora) {
      const LoraArg a = parse_lora_arg(arg);
      load.merge_adapters.push_back({a.path, a.scale});
    }
  }
  load.check_tensors = o.check_tensors;
  return load;
}

models::SessionOptions session_options(const ModelOptions& o, const models::Model& model) {
  models::SessionOptions session;
  session.n_ctx = o.n_ctx;
  session.sinks = o.sinks;
  // The default sinks leave at least one window slot in a tiny context; an explicit --sinks is
  // checked against -c by the session.
  if (!o.sinks_given && o.n_ctx > 0 && session.sinks >= o.n_ctx) session.sinks = o.n_ctx - 1;
  // A model with a sliding window (Gemma 2 at 4096 with -c 4096, say) whose window the default
  // ring cannot keep exact gets the plain cache instead of a refusal: the context then ends when
  // full, and the message says what keeps the ring. An explicit --sinks is the session's to check.
  const int64_t n_ctx = models::session_context(model.hparams(), session);
  const int64_t enough = models::ring_context_for_windows(model.hparams(), n_ctx, session.sinks);
  if (!o.sinks_given && enough != n_ctx) {
    log::warn(
        "the KV ring with {} sinks cannot keep this model's sliding window exact in {} slots: using the plain "
        "cache (generation stops when the context is full); -c {} or more keeps the ring",
        session.sinks, n_ctx, enough);
    session.sinks = 0;
  }
  return session;
}

std::vector<models::AdapterUse> load_adapters(const ModelOptions& o, const models::Model& model, Backend& backend) {
  std::vector<models::AdapterUse> uses;
  if (o.lora_merge) return uses;
  for (const std::string& arg : o.lora) {
    const LoraArg a = parse_lora_arg(arg);
    uses.push_back({models::LoraAdapter::load(a.path, model, backend), a.scale});
  }
  return uses;
}

}  // namespace vkgraph::cli
