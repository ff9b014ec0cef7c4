#include "cli/serve/metrics_text.h"

#include <fmt/format.h>

namespace vkgraph::serve {
namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

template <typename T>
void single(std::string& out, const char* name, const char* type, const char* help, T value) {
  header(out, name, type, help);
  out += fmt::format("{} {}\n", name, value);
}

// Prometheus label values escape backslash, double quote and newline.
std::string label_value(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void histogram(std::string& out, const char* name, const char* help, const serving::Histogram& h) {
  header(out, name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds[i], cumulative);
  }
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, h.count);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, h.sum, name, h.count);
}

}  // namespace

std::string prometheus_text(const ServerStats::Snapshot& server, const serving::EngineMetrics& e) {
  std::string out;
  header(out, "vkgraph_http_responses_total", "counter", "HTTP responses by route and status code");
  for (const auto& [key, n] : server.responses) {
    out += fmt::format("vkgraph_http_responses_total{{route=\"{}\",code=\"{}\"}} {}\n", label_value(key.first),
                       key.second, n);
  }
  header(out, "vkgraph_requests_finished_total", "counter",
         "Generation requests by how they ended (stop, length, cancelled, context_full, error)");
  for (const auto& [reason, n] : server.finished) {
    out += fmt::format("vkgraph_requests_finished_total{{reason=\"{}\"}} {}\n", label_value(reason), n);
  }
  single(out, "vkgraph_requests_accepted_total", "counter", "Generation requests the engine accepted",
         e.requests_total);
  single(out, "vkgraph_prompt_tokens_total", "counter", "Prompt tokens evaluated", e.prompt_tokens_total);
  single(out, "vkgraph_generated_tokens_total", "counter", "Tokens generated", e.generated_tokens_total);
  single(out, "vkgraph_prefix_cache_hit_tokens_total", "counter",
         "Prompt tokens whose KV came from the prefix cache instead of being evaluated",
         e.prefix_cache_hit_tokens_total);
  single(out, "vkgraph_preemptions_total", "counter",
         "Sequences sent back to the queue when KV cache blocks ran out (recomputed when readmitted)",
         e.preemptions_total);
  single(out, "vkgraph_draft_tokens_total", "counter", "Drafted tokens verified (speculative decoding, --draft)",
         e.draft_tokens_total);
  single(out, "vkgraph_draft_tokens_accepted_total", "counter", "Drafted tokens the model accepted",
         e.draft_tokens_accepted_total);
  single(out, "vkgraph_queue_depth", "gauge", "Requests waiting for a sequence slot", e.queue_depth);
  single(out, "vkgraph_running_sequences", "gauge", "Sequences being generated", e.running_sequences);
  single(out, "vkgraph_kv_blocks_used", "gauge", "KV cache blocks in use", e.kv_blocks_used);
  single(out, "vkgraph_kv_blocks_free", "gauge", "KV cache blocks free or kept only by the prefix cache",
         e.kv_blocks_free);
  histogram(out, "vkgraph_step_seconds", "Wall time of one engine step", e.step_seconds);
  histogram(out, "vkgraph_batch_tokens", "Tokens evaluated per engine step", e.batch_tokens);
  histogram(out, "vkgraph_time_to_first_token_seconds", "Request arrival to its first generated token",
            server.first_token_seconds);
  histogram(out, "vkgraph_request_seconds", "Request arrival to its last token", server.request_seconds);
  return out;
}

}  // namespace vkgraph::serve
