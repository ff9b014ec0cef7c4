#pragma once
// Stop sequences on generated text: the text streams through in pieces (tokens' text), a stop
// sequence may span pieces, and neither it nor anything after it is ever emitted. Text that
// could still be the start of a stop sequence is held back until the next piece settles it.

#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::serve {

class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Adds generated text; returns the text that is now safe to emit. After a match, returns
  // the text before the stop sequence and ignores everything later (stopped() is true).
  std::string push(std::string_view text);
  // The end of generation: whatever is held back is emitted (it never became a stop sequence).
  std::string finish();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;  // text not yet emitted: a suffix that is a prefix of some stop sequence
  bool stopped_ = false;
};

}  // namespace vkgraph::serve
