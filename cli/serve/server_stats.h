#pragma once
// What the HTTP layer counts itself (the engine counts tokens and steps): responses by route
// and status code, requests by how they finished, time to first token.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "models/serving/histogram.h"

namespace vkgraph::serve {

class ServerStats {
 public:
  struct Snapshot {
    std::map<std::pair<std::string, int>, uint64_t> responses;  // (route, status) -> count
    std::map<std::string, uint64_t> finished;                   // finish reason -> count
    serving::Histogram first_token_seconds;
    serving::Histogram request_seconds;
  };

  ServerStats();
  void record_response(const std::string& route, int status);
  void record_finish(const std::string& reason, double first_token_seconds, double total_seconds);
  Snapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  Snapshot s_;
};

}  // namespace vkgraph::serve
