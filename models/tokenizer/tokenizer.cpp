// Building a Tokenizer from GGUF metadata, and encode(): special tokens are cut out of the text
// first, then each plain stretch goes to the SentencePiece or byte-level BPE encoder.

#include "models/tokenizer/tokenizer.h"

#include <algorithm>
#include <span>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer_impl.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph {

namespace {

// Texts of end-of-turn tokens in the vocabularies of supported models.
constexpr std::string_view kEotTexts[] = {"<|eot_id|>",    "<|im_end|>",    "<|end|>",
                                          "<end_of_turn>", "<|endoftext|>", "<EOT>"};
// Tokens that end generation when the model emits them, besides eos and eot: llama.cpp's list
// (llama-vocab.cpp, the release of node-llama-cpp 3.22.1), which it also makes control tokens
// whatever type the file gives them, so that their text in a prompt is that one token.
constexpr std::string_view kEogTexts[] = {"<|eot_id|>",
                                          "<|im_end|>",
                                          "<|end|>",
                                          "<|return|>",
                                          "<|call|>",
                                          "<|flush|>",
                                          "<|calls|>",
                                          "<end_of_turn>",
                                          "<|endoftext|>",
                                          "</s>",
                                          "<|eom_id|>",
                                          "<EOT>",
                                          "_<EOT>",
                                          "[EOT]",
                                          "[EOS]",
                                          "<|end_of_text|>",
                                          "<end_of_utterance>",
                                          "<eos>",
                                          "<turn|>",
                                          "<|tool_response>",
                                          "<｜end▁of▁sentence｜>",
                                          "[e~["};
// Fill-in-the-middle markers, which llama.cpp makes control tokens too.
constexpr std::string_view kFimTexts[] = {
    "<|fim_prefix|>",  "<fim-prefix>",  "<fim_prefix>",    "<｜fim▁begin｜>", "<PRE>",           "▁<PRE>",
    "<|code_prefix|>", "<|prefix|>",    "<|fim_suffix|>",  "<fim-suffix>",    "<fim_suffix>",    "<｜fim▁hole｜>",
    "<SUF>",           "▁<SUF>",        "<|code_suffix|>", "<|suffix|>",      "<|fim_middle|>",  "<fim-middle>",
    "<fim_middle>",    "<｜fim▁end｜>", "<MID>",           "▁<MID>",          "<|code_middle|>", "<|middle|>",
    "<|fim_pad|>",     "<fim-pad>",     "<fim_pad>",       "<PAD>",           "[PAD]",           "<|fim_repo|>",
    "<|repo_name|>",   "<fim-repo>",    "<REPO>",          "<reponame>",      "<|file_sep|>"};

int32_t special_id(const gguf::GgufFile& file, const char* key, int32_t fallback, size_t vocab) {
  const std::optional<uint32_t> id = file.find_u32(key);
  if (!id) return fallback;
  if (*id >= vocab) fail("{}: metadata '{}' is {}, but the vocabulary has {} tokens", file.path(), key, *id, vocab);
  return int32_t(*id);
}

// One piece of the input: plain text, or a special token cut out of it.
struct Fragment {
  std::string_view text;
  int32_t token;  // -1 for text
};

}  // namespace

Tokenizer Tokenizer::from_gguf(const gguf::GgufFile& file) {
  auto impl = std::make_shared<Impl>();
  impl->model = file.get_string("tokenizer.ggml.model");
  if (impl->model == "llama") {
    impl->kind = TokenizerKind::Spm;
  } else if (impl->model == "gpt2") {
    impl->kind = TokenizerKind::Bpe;
  } else {
    fail("{}: tokenizer model '{}' is not supported (llama and gpt2 are)", file.path(), impl->model);
  }

  impl->text = file.get_string_array("tokenizer.ggml.tokens");
  const size_t n = impl->text.size();
  if (n == 0) fail("{}: metadata 'tokenizer.ggml.tokens' is empty", file.path());
  if (n > size_t(INT32_MAX)) fail("{}: vocabulary of {} tokens is too large", file.path(), n);

  impl->score.assign(n, 0.0f);
  if (file.has("tokenizer.ggml.scores")) {
    impl->score = file.get_f32_array("tokenizer.ggml.scores");
    if (impl->score.size() != n) {
      fail("{}: metadata 'tokenizer.ggml.scores' has {} entries, but there are {} tokens", file.path(),
           impl->score.size(), n);
    }
  }
  impl->type.assign(n, TokenType::Normal);
  if (file.has("tokenizer.ggml.token_type")) {
    const std::vector<int32_t> types = file.get_i32_array("tokenizer.ggml.token_type");
    if (types.size() != n) {
      fail("{}: metadata 'tokenizer.ggml.token_type' has {} entries, but there are {} tokens", file.path(),
           types.size(), n);
    }
    for (size_t i = 0; i < n; ++i) {
      if (types[i] < 0 || types[i] > int32_t(TokenType::Byte)) {
        fail("{}: metadata 'tokenizer.ggml.token_type' entry {} is {} (expected 0..6)", file.path(), i, types[i]);
      }
      impl->type[i] = TokenType(types[i]);
    }
  }
  impl->id_of.reserve(n);
  for (size_t i = 0; i < n; ++i) impl->id_of[impl->text[i]] = int32_t(i);
  // Control-looking tokens of ordinary type become control tokens, as llama.cpp makes them (Qwen3's
  // vocabulary has "</s>" as a normal token, which llama.cpp then reads as one special token).
  using Texts = std::span<const std::string_view>;
  for (const Texts list : {Texts(kEogTexts), Texts(kFimTexts)}) {
    for (std::string_view t : list) {
      if (const int32_t id = impl->lookup(std::string(t)); id >= 0) impl->type[size_t(id)] = TokenType::Control;
    }
  }

  std::fill(std::begin(impl->byte_token), std::end(impl->byte_token), -1);
  for (int b = 0; b < 256; ++b) impl->byte_token[b] = impl->lookup(fmt::format("<0x{:02X}>", b));

  if (impl->kind == TokenizerKind::Bpe) {
    impl->pre = file.find_string("tokenizer.ggml.pre").value_or("");
    const std::optional<PreTokenizer> pre = pre_tokenizer_from_name(impl->pre);
    if (!pre) {
      fail(
          "{}: pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported (gpt2, llama-bpe, qwen2, smollm and "
          "their aliases are)",
          file.path(), impl->pre);
    }
    impl->pre_tokenizer = *pre;
    impl->ignore_merges = *pre == PreTokenizer::Llama3;
    const std::vector<std::string>& merges = file.get_string_array("tokenizer.ggml.merges");
    impl->merge_rank.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
      // "left right"; the split is at the first space after the first character.
      const size_t space = merges[i].size() > 1 ? merges[i].find(' ', 1) : std::string::npos;
      if (space == std::string::npos) {
        fail("{}: metadata 'tokenizer.ggml.merges' entry {} ('{}') is not two tokens separated by a space", file.path(),
             i, merges[i]);
      }
      impl->merge_rank.emplace(merges[i], int32_t(i));
    }
  }

  const bool spm = impl->kind == TokenizerKind::Spm;
  impl->bos = special_id(file, "tokenizer.ggml.bos_token_id", spm && n > 1 ? 1 : -1, n);
  impl->eos = special_id(file, "tokenizer.ggml.eos_token_id", spm && n > 2 ? 2 : -1, n);
  impl->unk = special_id(file, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
  impl->eot = special_id(file, "tokenizer.ggml.eot_token_id", -1, n);
  if (impl->eot < 0) {
    for (std::string_view t : kEotTexts) {
      if (const int32_t id = impl->lookup(std::string(t)); id >= 0) {
        impl->eot = id;
        break;
      }
    }
  }
  // Without the key, llama.cpp adds BOS for SentencePiece vocabularies and for byte-level ones
  // of the Llama 3 pre-tokenizer group (llama-bpe, falcon3, pixtral...), not for the others.
  const bool llama3_bpe = impl->kind == TokenizerKind::Bpe && impl->pre_tokenizer == PreTokenizer::Llama3;
  impl->add_bos = file.find_bool("tokenizer.ggml.add_bos_token").value_or(spm || llama3_bpe);
  impl->add_space_prefix = file.find_bool("tokenizer.ggml.add_space_prefix").value_or(spm);

  for (int32_t id : {impl->eos, impl->eot}) {
    if (id >= 0) impl->eog.push_back(id);
  }
  for (std::string_view t : kEogTexts) {
    if (const int32_t id = impl->lookup(std::string(t)); id >= 0) impl->eog.push_back(id);
  }
  std::sort(impl->eog.begin(), impl->eog.end());
  impl->eog.erase(std::unique(impl->eog.begin(), impl->eog.end()), impl->eog.end());

  for (size_t i = 0; i < n; ++i) {
    const TokenType t = impl->type[i];
    if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) && !impl->text[i].empty()) {
      impl->specials.push_back(int32_t(i));
    }
  }
  std::stable_sort(impl->specials.begin(), impl->specials.end(),
                   [&](int32_t a, int32_t b) { return impl->text[size_t(a)].size() > impl->text[size_t(b)].size(); });
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_bos, bool parse_special) const {
  const Impl& m = *impl_;
  if (const size_t bad = unicode::utf8_first_invalid(text); bad != std::string_view::npos) {
    fail("tokenizer: input is not valid UTF-8 (byte 0x{:02X} at offset {})", uint8_t(text[bad]), bad);
  }

  // Cut special tokens out of the text, longest first. Without parse_special only user-defined
  // tokens are cut (they are part of the vocabulary's ordinary text, as in Hugging Face's).
  std::vector<Fragment> fragments = {{text, -1}};
  for (int32_t id : m.specials) {
    const TokenType type = m.type[size_t(id)];
    if (!parse_special && type != TokenType::UserDefined) continue;
    const std::string& needle = m.text[size_t(id)];
    std::vector<Fragment> next;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      std::string_view rest = f.text;
      for (size_t at; (at = rest.find(needle)) != std::string_view::npos;) {
        if (at > 0) next.push_back({rest.substr(0, at), -1});
        next.push_back({{}, id});
        rest.remove_prefix(at + needle.size());
      }
      if (!rest.empty()) next.push_back({rest, -1});
    }
    fragments = std::move(next);
  }

  std::vector<int32_t> out;
  if (add_bos && m.bos >= 0) out.push_back(m.bos);
  if (m.kind == TokenizerKind::Spm) {
    // SentencePiece marks spaces with U+2581 and, like llama.cpp, puts one in front of the text
    // and after every special token.
    bool after_special = true;
    std::string escaped;
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        after_special = true;
        continue;
      }
      escaped.clear();
      if (m.add_space_prefix && after_special) escaped += "\xE2\x96\x81";
      for (char c : f.text) {
        if (c == ' ') {
          escaped += "\xE2\x96\x81";
        } else {
          escaped += c;
        }
      }
      m.encode_spm(escaped, out);
      after_special = false;
    }
  } else {
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
      } else {
        m.encode_bpe(f.text, out);
      }
    }
  }
  return out;
}

TokenizerKind Tokenizer::kind() const { return impl_->kind; }
const std::string& Tokenizer::model_name() const { return impl_->model; }
const std::string& Tokenizer::pre_name() const { return impl_->pre; }
size_t Tokenizer::vocab_size() const { return impl_->text.size(); }

const std::string& Tokenizer::token_text(int32_t id) const {
  if (id < 0 || size_t(id) >= impl_->text.size()) {
    fail("tokenizer: token id {} is out of range (vocabulary of {})", id, impl_->text.size());
  }
  return impl_->text[size_t(id)];
}

TokenType Tokenizer::token_type(int32_t id) const {
  token_text(id);  // range check
  return impl_->type[size_t(id)];
}

std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  const int32_t id = impl_->lookup(std::string(text));
  return id >= 0 ? std::optional(id) : std::nullopt;
}

int32_t Tokenizer::bos() const { return impl_->bos; }
int32_t Tokenizer::eos() const { return impl_->eos; }
int32_t Tokenizer::eot() const { return impl_->eot; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_space_prefix() const { return impl_->add_space_prefix; }

bool Tokenizer::is_eog(int32_t id) const { return std::binary_search(impl_->eog.begin(), impl_->eog.end(), id); }

}  // namespace vkgraph
