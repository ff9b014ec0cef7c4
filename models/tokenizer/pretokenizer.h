#pragma once
// Pre-tokenization for byte-level BPE: splits text into the words that BPE merges within, as the
// patterns of each `tokenizer.ggml.pre` value do. The patterns are implemented as code (they
// need lookahead and Unicode classes, which std::regex lacks):
//   Gpt2:   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Smollm: every \p{N} on its own first, then Gpt2 inside each piece (also starcoder, refact, ...)
//   Llama3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
//           \s*[\r\n]+|\s+(?!\S)|\s+
//   Qwen2:  as Llama3 with \p{N} (single digits) instead of \p{N}{1,3}

#include <optional>
#include <string_view>
#include <vector>

namespace vkgraph {

enum class PreTokenizer { Gpt2, Smollm, Llama3, Qwen2 };

// The splitter for a `tokenizer.ggml.pre` value ("" means gpt2's), nullopt when unknown.
std::optional<PreTokenizer> pre_tokenizer_from_name(std::string_view pre);

// Splits valid UTF-8 `text` into consecutive, non-empty words that cover it exactly.
std::vector<std::string_view> pre_tokenize(PreTokenizer kind, std::string_view text);

}  // namespace vkgraph
