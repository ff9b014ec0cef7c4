#pragma once
// The errors of the hub module. Each is a vkgraph::Error whose message says what went wrong and
// what to do; the kind lets the C API return a status a program can act on (ask for a token,
// retry later, show "not found").

#include <string>

#include "engine/core/error.h"

namespace vkgraph::hub {

enum class HubErrorKind {
  invalid_name,  // not ORG/REPO[:QUANT] or ORG/REPO/FILE.gguf
  not_found,     // no such repository, quant or file (or offline and not in the cache)
  access,        // 401/403: a gated or private repository and no (or a refused) token
  network,       // the Hub cannot be reached, answered an error, or a transfer broke off
  integrity,     // the downloaded bytes do not match the Hub's SHA-256 / ETag
  disk,          // not enough space, or the cache cannot be written
  cancelled,     // the caller asked to stop (Ctrl-C); the partial file is kept for a resume
};

class HubError : public Error {
 public:
  HubError(HubErrorKind kind, const std::string& message) : Error(message), kind_(kind) {}
  HubErrorKind kind() const { return kind_; }

 private:
  HubErrorKind kind_;
};

template <typename... Args>
[[noreturn]] void hub_fail(HubErrorKind kind, fmt::format_string<Args...> format, Args&&... args) {
  throw HubError(kind, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace vkgraph::hub
