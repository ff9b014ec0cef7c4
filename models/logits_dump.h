#pragma once
// The logits JSON of `vkgraph run --dump-logits` and of the llama.cpp references:
// {"tokens": [...], "logits": [[n_vocab floats], ...]}, one logits row per prompt position.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace vkgraph::models {

void write_logits_json(const std::string& path, std::span<const int32_t> tokens, std::span<const float> logits,
                       size_t n_vocab);

struct LogitsFile {
  std::vector<int32_t> tokens;
  std::vector<std::vector<float>> logits;
  std::vector<int32_t> greedy;  // present in the references
  std::string prompt;
};

LogitsFile read_logits_json(const std::string& path);

}  // namespace vkgraph::models
