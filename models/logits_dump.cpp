#include "models/logits_dump.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace vkgraph::models {

void write_logits_json(const std::string& path, std::span<const int32_t> tokens, std::span<const float> logits,
                       size_t n_vocab) {
  VKGRAPH_CHECK(logits.size() == tokens.size() * n_vocab, "logits for {} tokens must hold {} values, not {}",
                tokens.size(), tokens.size() * n_vocab, logits.size());
  nlohmann::json j;
  j["tokens"] = std::vector<int32_t>(tokens.begin(), tokens.end());
  auto& rows = j["logits"] = nlohmann::json::array();
  for (size_t i = 0; i < tokens.size(); ++i) {
    rows.push_back(std::vector<float>(logits.begin() + std::ptrdiff_t(i * n_vocab),
                                      logits.begin() + std::ptrdiff_t((i + 1) * n_vocab)));
  }
  std::ofstream out(path);
  VKGRAPH_CHECK(out.good(), "cannot write {}", path);
  out << j.dump() << '\n';
  VKGRAPH_CHECK(out.good(), "writing {} failed", path);
}

LogitsFile read_logits_json(const std::string& path) {
  std::ifstream in(path);
  VKGRAPH_CHECK(in.good(), "cannot read {}", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
    LogitsFile f;
    f.tokens = j.at("tokens").get<std::vector<int32_t>>();
    f.logits = j.at("logits").get<std::vector<std::vector<float>>>();
    if (j.contains("greedy")) f.greedy = j["greedy"].get<std::vector<int32_t>>();
    if (j.contains("prompt")) f.prompt = j["prompt"].get<std::string>();
    return f;
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a logits file: {}", path, e.what());
  }
}

}  // namespace vkgraph::models
