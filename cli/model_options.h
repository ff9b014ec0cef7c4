#pragma once
// The options every command that runs a model shares: -m, -hf, -c, --sinks, --backend, --device,
// --weights, --lora, --lora-merge, --check-tensors, and what they resolve to (the model path, the
// backend, the load and session options, the adapters).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "models/lora/lora_adapter.h"
#include "models/model.h"
#include "models/session.h"

namespace vkgraph::cli {

struct ModelOptions {
  std::string model;  // "" = the bundled default model (or -hf)
  std::string hf;     // -hf ORG/REPO[:QUANT]: a model from the Hugging Face Hub (cli/hf_option.h)
  int64_t n_ctx = 0;  // 0 = the model's, at most 4096
  // Attention sinks of the KV cache ring (models/session.h); 0 = no ring, the context is a limit.
  int64_t sinks = 4;
  bool sinks_given = false;
  std::string backend;  // "" = the registry's default backend
  std::string device;
  std::string weights;            // "" = as stored; a quantization scheme (q4_k_m, q8_0, ...) converts while loading
  std::vector<std::string> lora;  // FILE[:SCALE] each, in order (a server's adapter ids 0, 1, ...)
  bool lora_merge = false;        // merge the --lora adapters into the weights while loading
  bool check_tensors = false;     // scan every weight value for NaN/Inf while loading
};

// One --lora argument: FILE or FILE:SCALE (the scale after the last ':' when it is a number,
// so paths with colons still work). Throws naming the argument when SCALE is not finite.
struct LoraArg {
  std::string path;
  float scale = 1.0f;
};
LoraArg parse_lora_arg(const std::string& arg);

void add_model_options(CLI::App& app, ModelOptions& options);

// The model file to load: -m, or -hf's file from the cache (downloading it when needed), or the
// bundled default model.
std::string model_path(const ModelOptions& options);
std::unique_ptr<Backend> create_model_backend(const ModelOptions& options);
models::LoadOptions load_options(const ModelOptions& options);
models::SessionOptions session_options(const ModelOptions& options, const models::Model& model);
// The --lora adapters loaded for `model` on `backend`, to apply unmerged (Session::set_adapters);
// empty with --lora-merge, where load_options() merges them instead.
std::vector<models::AdapterUse> load_adapters(const ModelOptions& options, const models::Model& model,
                                              Backend& backend);

}  // namespace vkgraph::cli
