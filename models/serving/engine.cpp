#include "models/serving/engine.h"

#include "engine/core/error.h"
#include "models/serving/batch_engine.h"
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

const char* engine_kind_name(EngineKind kind) {
  switch (kind) {
    case EngineKind::batched:
      return "batched";
    case EngineKind::session:
      return "session";
  }
  return "?";
}

std::unique_ptr<Engine> Engine::create(const models::Model& model, Backend& backend, const EngineOptions& options) {
  switch (options.kind) {
    case EngineKind::batched:
      return std::make_unique<BatchEngine>(model, backend, options);
    case EngineKind::session:
      return std::make_unique<SessionEngine>(model, backend, options);
  }
  fail("unknown serving engine kind {}", int(options.kind));
}

}  // namespace vkgraph::serving
