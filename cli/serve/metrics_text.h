#pragma once
// /metrics in Prometheus' text exposition format (version 0.0.4): the HTTP layer's counters
// and the engine's, each with # HELP and # TYPE lines, histograms with cumulative buckets.

#include <string>

#include "cli/serve/server_stats.h"
#include "models/serving/engine.h"

namespace vkgraph::serve {

std::string prometheus_text(const ServerStats::Snapshot& server, const serving::EngineMetrics& engine);

}  // namespace vkgraph::serve
