#pragma once
// One generation request on its way from the engine's thread to its connection's thread.
// The engine calls on_token/on_done (short: decode the token to text, match stop sequences,
// append); the connection's thread waits for text and writes it out at its own pace, so a slow
// client never slows the engine.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cli/serve/stop_matcher.h"
#include "models/serving/engine.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::serve {

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  GenerationJob(const Tokenizer& tokenizer, std::vector<std::string> stops);

  // The callbacks for Engine::submit; they keep the job alive.
  serving::OnToken on_token();
  serving::OnDone on_done();

  struct Update {
    std::string text;   // ready since the last wait (may be empty)
    bool done = false;  // the request has ended: completion() is final
  };
  // Waits until text is ready, the request ends or `timeout` passes.
  Update wait(std::chrono::milliseconds timeout);
  // Waits for the end and returns all the text not yet taken.
  std::string wait_all();

  // The client is gone: the next token cancels the request (the caller also cancels it in the
  // engine, which ends a queued one at once).
  void abandon();

  // After done: the engine's account, and OpenAI's finish_reason: "stop" (end of text or a stop
  // sequence), "length" (max_tokens or the context), "" when cancelled or failed.
  const serving::Completion& completion() const { return completion_; }
  std::string finish_reason() const;

 private:
  StreamingDecoder decoder_;  // engine thread only
  StopMatcher stop_;          // engine thread only
  bool stop_matched_ = false;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::string ready_;
  bool done_ = false;
  bool abandoned_ = false;
  serving::Completion completion_;
};

}  // namespace vkgraph::serve
