#pragma once
// The options every command that runs a model shares: -m, -c, --sinks, --backend, --device, --weights,
// --check-tensors,
// and what they resolve to (the model path, the backend, the load and session options).

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "engine/backend/backend.h"
#include "models/model.h"
#include "models/session.h"

namespace vkgraph::cli {

struct ModelOptions {
  std::string model;  // "" = the bundled default model
  int64_t n_ctx = 0;  // 0 = the model's, at most 4096
  // Attention sinks of the KV cache ring (models/session.h); 0 = no ring, the context is a limit.
  int64_t sinks = 4;
  bool sinks_given = false;
  std::string backend = "vulkan";
  std::string device;
  std::string weights;         // "" = as stored; q8_0 or q4_0 converts while loading
  bool check_tensors = false;  // scan every weight value for NaN/Inf while loading
};

void add_model_options(CLI::App& app, ModelOptions& options);

std::string model_path(const ModelOptions& options);
std::unique_ptr<Backend> create_model_backend(const ModelOptions& options);
models::LoadOptions load_options(const ModelOptions& options);
models::SessionOptions session_options(const ModelOptions& options);

}  // namespace vkgraph::cli
