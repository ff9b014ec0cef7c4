#include "models/conversation.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "models/generation.h"

namespace vkgraph::models {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::vector<int32_t> encode_chat_prompt(const Tokenizer& tok, std::string_view text) {
  const bool bos_in_text = tok.bos() >= 0 && text.rfind(tok.token_text(tok.bos()), 0) == 0;
  return tok.encode(text, tok.add_bos() && !bos_in_text, true);
}

Conversation::Conversation(Session& session, chat::ChatTemplate chat_template, std::string system_prompt)
    : session_(session), template_(chat_template), system_(std::move(system_prompt)) {}

std::vector<chat::Message> Conversation::with_system() const {
  std::vector<chat::Message> all;
  if (!system_.empty()) all.push_back({"system", system_});
  all.insert(all.end(), messages_.begin(), messages_.end());
  return all;
}

std::string Conversation::prompt_text(bool add_generation_prompt) const {
  return template_.format(with_system(), add_generation_prompt);
}

std::vector<int32_t> Conversation::render(bool add_generation_prompt) const {
  return encode_chat_prompt(session_.model().tokenizer(), prompt_text(add_generation_prompt));
}

TurnStats Conversation::reply(const std::string& user_text, Sampler& sampler, int64_t max_tokens,
                              const std::function<void(const std::string&)>& emit,
                              const std::function<bool()>& should_stop) {
  messages_.push_back({"user", user_text});
  std::vector<int32_t> prompt;
  try {
    prompt = render(true);
    // The plain cache must hold the whole conversation and leave room for the reply; the ring
    // holds any length (the oldest turns slide out of the window).
    VKGRAPH_CHECK(session_.ring() || int64_t(prompt.size()) < session_.n_ctx(),
                  "the conversation needs {} tokens but the context holds {}: /reset to start over, or raise -c",
                  prompt.size(), session_.n_ctx());
  } catch (...) {
    messages_.pop_back();
    throw;
  }

  // Reuse the longest prefix the cache already holds; evaluate only the rest.
  size_t keep = 0;
  while (keep < cached_.size() && keep < prompt.size() && cached_[keep] == prompt[keep]) ++keep;
  if (keep == prompt.size()) --keep;  // at least one token must run to produce logits
  // After the ring evicted tokens the cache is no longer a plain prefix: going back is possible
  // only to a point whose later tokens are all still in the window. Otherwise the conversation
  // runs again from the start (through the ring, so it fits).
  if (!session_.can_truncate(int64_t(keep))) keep = 0;
  session_.truncate(int64_t(keep));
  cached_.resize(keep);

  TurnStats stats;
  stats.reused_tokens = int64_t(keep);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<int32_t> fresh(prompt.begin() + std::ptrdiff_t(keep), prompt.end());
  GenerateResult result;
  try {
    std::vector<float> logits = session_.eval(fresh);
    cached_.insert(cached_.end(), fresh.begin(), fresh.end());
    stats.prompt_tokens = int64_t(fresh.size());
    stats.prompt_seconds = seconds_since(start);

    std::vector<int32_t> history = cached_;
    GenerateOptions options;
    options.max_tokens = max_tokens;
    options.ignore_eos = ignore_eos_;
    options.drafter = drafter_;
    options.speculative = speculative_;
    result = generate(session_, std::move(logits), sampler, history, options, emit, should_stop);
  } catch (...) {
    // A failed step (a device error, non-finite logits, which reset the session) leaves the
    // cache holding fewer tokens than we thought: keep our record to what it still holds, and
    // the turn out of the conversation.
    cached_.resize(std::min(cached_.size(), size_t(session_.n_past())));
    messages_.pop_back();
    throw;
  }
  cached_.insert(cached_.end(), result.tokens.begin(), result.tokens.begin() + std::ptrdiff_t(result.evaluated));
  stats.generated_tokens = int64_t(result.tokens.size());
  stats.generation_seconds = result.seconds;
  stats.interrupted = result.interrupted;
  stats.stopped_at_eog = result.stopped_at_eog;
  stats.speculative = result.speculative;
  const std::string& text = result.text;
  messages_.push_back({"assistant", text});
  return stats;
}

void Conversation::reset() {
  messages_.clear();
  cached_.clear();
  session_.reset();
}

void Conversation::set_system_prompt(std::string text) { system_ = std::move(text); }

void Conversation::set_messages(std::vector<chat::Message> messages) {
  for (const auto& m : messages) {
    VKGRAPH_CHECK(m.role == "user" || m.role == "assistant" || m.role == "system",
                  "unknown role '{}' in the conversation (user, assistant, system)", m.role);
  }
  messages_ = std::move(messages);
}

void Conversation::save(const std::string& path) const {
  nlohmann::json j;
  j["system"] = system_;
  j["messages"] = nlohmann::json::array();
  for (const auto& m : messages_) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  std::ofstream out(path);
  VKGRAPH_CHECK(out.good(), "cannot write {}", path);
  out << j.dump(2) << '\n';
  VKGRAPH_CHECK(out.good(), "writing {} failed", path);
}

void Conversation::load(const std::string& path) {
  std::ifstream in(path);
  VKGRAPH_CHECK(in.good(), "cannot read {}", path);
  std::string system;
  std::vector<chat::Message> messages;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    system = j.value("system", "");
    for (const auto& m : j.at("messages")) {
      messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
    }
  } catch (const nlohmann::json::exception& e) {
    fail("{}: not a saved conversation: {}", path, e.what());
  }
  set_messages(std::move(messages));
  system_ = std::move(system);
  // The next turn evaluates the loaded text from the start.
  cached_.clear();
  session_.reset();
}

}  // namespace vkgraph::models
