#include "cli/serve/server_stats.h"

namespace vkgraph::serve {

// From 10 ms (a tiny model, an idle server) to a minute (a long prompt behind a full queue).
ServerStats::ServerStats() {
  s_.first_token_seconds = serving::Histogram{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  s_.request_seconds = serving::Histogram{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
}

void ServerStats::record_response(const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  s_.responses[{route, status}]++;
}

void ServerStats::record_finish(const std::string& reason, double first_token_seconds, double total_seconds) {
  std::lock_guard lock(mutex_);
  s_.finished[reason]++;
  if (first_token_seconds > 0) s_.first_token_seconds.observe(first_token_seconds);
  s_.request_seconds.observe(total_seconds);
}

ServerStats::Snapshot ServerStats::snapshot() const {
  std::lock_guard lock(mutex_);
  return s_;
}

}  // namespace vkgraph::serve
