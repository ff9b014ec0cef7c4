#pragma once
// A chat conversation on a session: messages rendered through the model's chat template, with
// only the text that is new since the last turn evaluated (the KV cache keeps the rest).

#include <functional>
#include <string>
#include <vector>

#include "models/chat/chat_template.h"
#include "models/sampler.h"
#include "models/session.h"
#include "models/speculative/speculative_params.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::models {

class Drafter;

struct TurnStats {
  int64_t prompt_tokens = 0;  // evaluated for this turn (only the new text)
  int64_t reused_tokens = 0;  // kept from the cache
  int64_t generated_tokens = 0;
  double prompt_seconds = 0;
  double generation_seconds = 0;
  bool interrupted = false;  // stopped by should_stop
  bool stopped_at_eog = false;
  SpeculativeStats speculative;  // with a drafter
};

// Token ids of a rendered chat prompt: special tokens parsed, and the vocabulary's BOS in front
// unless the template already wrote it (Llama 3, Gemma).
std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, std::string_view text);

class Conversation {
 public:
  Conversation(Session& session, chat::ChatTemplate chat_template, std::string system_prompt = "");

  // Adds the user's message, evaluates the new prompt text and streams the reply through `emit`
  // (complete UTF-8 pieces). The reply, even an interrupted one, joins the conversation.
  // With the plain cache, throws, leaving the conversation as it was, when the prompt does not
  // fit the context; with the KV ring (session sinks > 0) every turn fits and the oldest tokens
  // slide out of the window.
  TurnStats reply(const std::string& user_text, Sampler& sampler, int64_t max_tokens,
                  const std::function<void(const std::string&)>& emit, const std::function<bool()>& should_stop = {});
  // Keep generating past end-of-generation tokens (benchmarks, tests of long replies).
  void set_ignore_eos(bool ignore) { ignore_eos_ = ignore; }
  // Speculative decoding of the replies (models/speculative); nullptr: off. The drafter is used,
  // not owned.
  void set_drafter(Drafter* drafter, const SpeculativeParams& params = {}) {
    drafter_ = drafter;
    speculative_ = params;
  }

  void reset();                              // forget the messages (keeps the system prompt)
  void set_system_prompt(std::string text);  // replaces it; takes effect from the next turn
  const std::string& system_prompt() const { return system_; }
  const std::vector<chat::Message>& messages() const { return messages_; }  // without the system prompt
  void set_messages(std::vector<chat::Message> messages);                   // e.g. a loaded conversation

  // /save and /load: {"system": "...", "messages": [{"role": "...", "content": "..."}]}.
  void save(const std::string& path) const;
  void load(const std::string& path);

  // The conversation as the template renders it: what the model sees.
  std::string prompt_text(bool add_generation_prompt) const;

  int64_t context_used() const { return session_.n_cached(); }
  int64_t context_size() const { return session_.n_ctx(); }
  const chat::ChatTemplate& chat_template() const { return template_; }

 private:
  std::vector<int32_t> render(bool add_generation_prompt) const;
  std::vector<chat::Message> with_system() const;

  Session& session_;
  chat::ChatTemplate template_;
  std::string system_;
  std::vector<chat::Message> messages_;
  std::vector<int32_t> cached_;  // the tokens the session evaluated since its reset, in order (with
                                 // the ring, older ones may have been evicted from the cache)
  bool ignore_eos_ = false;
  Drafter* drafter_ = nullptr;
  SpeculativeParams speculative_;
};

}  // namespace vkgraph::models
