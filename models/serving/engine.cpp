#include "models/serving/engine.h"

#include "models/serving/session_engine.h"

namespace vkgraph::serving {

Engine::~Engine() = default;

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::length:
      return "length";
    case FinishReason::eog:
      return "eog";
    case FinishReason::cancelled:
      return "cancelled";
    case FinishReason::context_full:
      return "context_full";
    case FinishReason::error:
      return "error";
  }
  return "?";
}

std::unique_ptr<Engine> Engine::create(const models::Model& model, Backend& backend, const EngineOptions& options) {
  return std::make_unique<SessionEngine>(model, backend, options);
}

}  // namespace vkgraph::serving
