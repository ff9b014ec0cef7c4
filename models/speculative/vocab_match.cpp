#include "models/speculative/vocab_match.h"

#include "engine/core/error.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::models {
namespace {

const char* kind_name(TokenizerKind kind) { return kind == TokenizerKind::Spm ? "SentencePiece" : "byte-level BPE"; }

}  // namespace

void check_same_vocabulary(const Model& target, const Model& draft) {
  const Tokenizer& t = target.tokenizer();
  const Tokenizer& d = draft.tokenizer();
  const auto differ = [&](const std::string& what) {
    fail("draft model '{}' does not share the vocabulary of the target '{}': {}", draft.path(), target.path(), what);
  };
  if (t.kind() != d.kind()) {
    differ(fmt::format("the target's tokenizer is {}, the draft's {}", kind_name(t.kind()), kind_name(d.kind())));
  }
  if (t.vocab_size() != d.vocab_size()) {
    differ(fmt::format("the target has {} tokens, the draft {}", t.vocab_size(), d.vocab_size()));
  }
  if (target.hparams().n_vocab != draft.hparams().n_vocab) {
    differ(fmt::format("the target's output has {} rows, the draft's {}", target.hparams().n_vocab,
                       draft.hparams().n_vocab));
  }
  for (size_t i = 0; i < t.vocab_size(); ++i) {
    const auto id = int32_t(i);
    if (t.token_text(id) != d.token_text(id)) {
      differ(
          fmt::format("token {} is '{}' in the target and '{}' in the draft", id, t.token_text(id), d.token_text(id)));
    }
    if (t.token_type(id) != d.token_type(id)) {
      differ(fmt::format("token {} ('{}') has type {} in the target and {} in the draft", id, t.token_text(id),
                         int(t.token_type(id)), int(d.token_type(id))));
    }
  }
  const auto special = [&](const char* name, int32_t a, int32_t b) {
    if (a != b) differ(fmt::format("the {} token is {} in the target and {} in the draft", name, a, b));
  };
  special("BOS", t.bos(), d.bos());
  special("EOS", t.eos(), d.eos());
  special("end-of-turn", t.eot(), d.eot());
}

}  // namespace vkgraph::models
