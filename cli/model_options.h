#pragma once
// The options every command that runs a model shares: -m, -hf, -c, --sinks, --backend, --device,
// --weights, and what they resolve to (the model path, the backend, the load and session options).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "engine/backend/backend.h"
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
  std::string backend = "vulkan";
  std::string device;
  std::string weights;  // "" = as stored; a quantization scheme (q4_k_m, q8_0, ...) converts while loading
};

void add_model_options(CLI::App& app, ModelOptions& options);

// The model file to load: -m, or -hf's file from the cache (downloading it when needed), or the
// bundled default model.
std::string model_path(const ModelOptions& options);
std::unique_ptr<Backend> create_model_backend(const ModelOptions& options);
models::LoadOptions load_options(const ModelOptions& options);
models::SessionOptions session_options(const ModelOptions& options);

}  // namespace vkgraph::cli
