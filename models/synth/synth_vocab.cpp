#include "models/synth/synth_vocab.h"

#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "models/gguf/gguf_writer.h"

namespace vkgraph::models {
namespace {

constexpr int32_t type_normal = 1, type_unknown = 2, type_control = 3, type_unused = 5, type_byte = 6;

// The pre-tokenizer a tokenizer.json describes, by the shape of its pre_tokenizer section.
std::string detect_pre(const nlohmann::json& pre, const std::string& path) {
  const std::string dumped = pre.dump();
  if (dumped.find("\"Digits\"") != std::string::npos &&
      dumped.find("\"individual_digits\":true") != std::string::npos) {
    return "smollm";
  }
  if (dumped.find("\\\\p{N}{1,3}") != std::string::npos) return "llama-bpe";
  if (dumped.find("\\\\p{N}") != std::string::npos) return "qwen2";
  fail("{}: the pre-tokenizer is none of those supported (smollm, llama-bpe, qwen2)", path);
}

}  // namespace

SynthVocab vocab_from_tokenizer_json(const std::string& path, int64_t n_vocab) {
  std::ifstream in(path);
  VKGRAPH_CHECK(in.good(), "cannot read tokenizer file {}", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not JSON: {}", path, e.what());
  }
  VKGRAPH_CHECK(j.contains("model") && j["model"].value("type", "") == "BPE", "{}: only BPE tokenizers are supported",
                path);
  SynthVocab v;
  v.model = "gpt2";
  v.pre = detect_pre(j["pre_tokenizer"], path);
  const auto& vocab = j["model"]["vocab"];
  const auto n_file = int64_t(vocab.size());
  VKGRAPH_CHECK(n_file <= n_vocab, "{} has {} tokens, more than the preset's vocabulary of {}", path, n_file, n_vocab);
  v.tokens.assign(size_t(n_vocab), "");
  v.types.assign(size_t(n_vocab), type_normal);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const int64_t id = it.value().get<int64_t>();
    VKGRAPH_CHECK(id >= 0 && id < n_file, "{}: token id {} out of range", path, id);
    v.tokens[size_t(id)] = it.key();
  }
  for (const auto& added : j.value("added_tokens", nlohmann::json::array())) {
    const int64_t id = added.at("id").get<int64_t>();
    VKGRAPH_CHECK(id >= 0 && id < n_vocab, "{}: added token id {} out of range", path, id);
    v.tokens[size_t(id)] = added.at("content").get<std::string>();
    v.types[size_t(id)] = added.value("special", false) ? type_control : type_normal;
  }
  for (int64_t id = 0; id < n_vocab; ++id) {
    if (v.tokens[size_t(id)].empty()) {
      v.tokens[size_t(id)] = fmt::format("<|unused_{}|>", id);
      v.types[size_t(id)] = type_unused;
    }
  }
  for (const auto& m : j["model"]["merges"]) {
    v.merges.push_back(m.is_string() ? m.get<std::string>()
                                     : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
  }
  const auto find = [&](std::string_view text) {
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      if (v.tokens[i] == text) return int32_t(i);
    }
    return int32_t(-1);
  };
  v.bos = find("<|im_start|>");
  v.eos = find("<|im_end|>");
  if (v.eos < 0) v.eos = find("<|endoftext|>");
  v.eot = find("<|im_end|>");
  if (v.bos < 0) v.bos = find("<|endoftext|>");
  v.add_bos = false;
  // SmolLM2 and Qwen speak ChatML.
  v.chat_template =
      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
      "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  return v;
}

SynthVocab placeholder_vocab(int64_t n_vocab) {
  VKGRAPH_CHECK(n_vocab >= 3 + 256 + 1, "a placeholder vocabulary needs at least 260 tokens (got {})", n_vocab);
  SynthVocab v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.types = {type_unknown, type_control, type_control};
  v.scores = {0.0f, 0.0f, 0.0f};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(fmt::format("<0x{:02X}>", b));
    v.types.push_back(type_byte);
    v.scores.push_back(0.0f);
  }
  // Filler pieces: the word-start marker and lower-case letters first, so text tokenizes into
  // pieces rather than bytes, then numbered placeholders.
  std::vector<std::string> pieces = {"\xe2\x96\x81"};
  for (char c = 'a'; c <= 'z'; ++c) pieces.emplace_back(1, c);
  for (int64_t i = int64_t(v.tokens.size()); i < n_vocab; ++i) {
    const size_t k = size_t(i) - 259;
    v.tokens.push_back(k < pieces.size() ? pieces[k] : fmt::format("\xe2\x96\x81tok{}", i));
    v.types.push_back(type_normal);
    v.scores.push_back(-float(k));
  }
  v.bos = 1;
  v.eos = 2;
  v.add_bos = true;
  return v;
}

void write_vocab(gguf::GgufWriter& w, const SynthVocab& v) {
  w.set_string("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) w.set_string("tokenizer.ggml.pre", v.pre);
  w.set_array("tokenizer.ggml.tokens", v.tokens);
  if (!v.scores.empty()) w.set_array("tokenizer.ggml.scores", v.scores);
  w.set_array("tokenizer.ggml.token_type", v.types);
  if (!v.merges.empty()) w.set_array("tokenizer.ggml.merges", v.merges);
  if (v.bos >= 0) w.set_u32("tokenizer.ggml.bos_token_id", uint32_t(v.bos));
  if (v.eos >= 0) w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(v.eos));
  if (v.eot >= 0) w.set_u32("tokenizer.ggml.eot_token_id", uint32_t(v.eot));
  w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  if (!v.chat_template.empty()) w.set_string("tokenizer.chat_template", v.chat_template);
}

}  // namespace vkgraph::models
