#include "models/speculative/speculative_generation.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "engine/core/error.h"
#include "models/speculative/drafter.h"
#include "models/speculative/verification.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::models {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

}  // namespace

GenerateResult generate_speculative(Session& session, std::vector<float> logits, Sampler& sampler,
                                    std::vector<int32_t>& history, const GenerateOptions& options,
                                    const std::function<void(const std::string&)>& emit,
                                    const std::function<bool()>& should_stop) {
  const SpeculativeParams& sp = options.speculative;
  VKGRAPH_CHECK(sp.draft_max >= 1 && sp.draft_max <= 256, "--draft-max must be in [1, 256] (got {})", sp.draft_max);
  VKGRAPH_CHECK(sp.draft_min >= 0 && sp.draft_min <= sp.draft_max,
                "--draft-min must be in [0, --draft-max {}] (got {})", sp.draft_max, sp.draft_min);
  VKGRAPH_CHECK(session.n_tentative() == 0, "internal: generation starts with {} tentative tokens pending",
                session.n_tentative());
  Drafter& drafter = *options.drafter;
  const Tokenizer& tok = session.model().tokenizer();
  StreamingDecoder decoder(tok, false, false);
  GenerateResult result;
  SpeculativeStats& stats = result.speculative;
  const auto start = Clock::now();
  const auto send = [&](const std::string& piece) {
    result.text += piece;
    if (!piece.empty()) emit(piece);
  };
  std::vector<int32_t> banned;
  if (options.ignore_eos) {
    for (size_t id = 0; id < logits.size(); ++id) {
      if (tok.is_eog(int32_t(id))) banned.push_back(int32_t(id));
    }
  }
  const auto draw = [&](std::vector<float>& l) {
    for (int32_t id : banned) l[size_t(id)] = -std::numeric_limits<float>::infinity();
    return sampler.sample(l, history);
  };
  // Hands one drawn token out, as generate() does; false when the text ends before it (a stop
  // request, or an end-of-generation token).
  const auto hand_out = [&](int32_t token) {
    if (should_stop && should_stop()) {
      result.interrupted = true;
      return false;
    }
    if (tok.is_eog(token)) {
      result.stopped_at_eog = true;
      return false;
    }
    history.push_back(token);
    result.tokens.push_back(token);
    send(decoder.push(token));
    return true;
  };

  bool going = options.max_tokens > 0 && hand_out(draw(logits));
  while (going) {
    const int64_t remaining = options.max_tokens - int64_t(result.tokens.size());
    if (remaining <= 0) break;
    if (!session.fits(1)) {  // the plain cache is full (a ring never is)
      result.context_full = true;
      break;
    }
    const int32_t x = result.tokens.back();  // drawn, not evaluated yet
    // Drafts never reach past max_tokens (the step's last token is the target's own) nor past
    // the room the cache has for a verification step.
    const int64_t most = std::min<int64_t>({sp.draft_max, remaining - 1, session.tentative_room() - 1});
    Draft draft;
    if (most >= std::max(1, sp.draft_min)) {
      const auto t0 = Clock::now();
      draft = drafter.propose({history, int32_t(most), &sampler.params(), banned});
      stats.draft_seconds += seconds_since(t0);
      VKGRAPH_CHECK(int64_t(draft.tokens.size()) <= most, "internal: the {} drafter proposed {} tokens of {} asked",
                    drafter.kind(), draft.tokens.size(), most);
      if (int64_t(draft.tokens.size()) < sp.draft_min) draft = {};
    }

    const auto t1 = Clock::now();
    ++stats.target_steps;
    if (draft.tokens.empty()) {  // a plain decode step
      const int32_t one[] = {x};
      logits = session.eval(one);
      result.evaluated++;
      const int32_t next = draw(logits);
      stats.target_seconds += seconds_since(t1);
      ++stats.tokens;
      going = hand_out(next);
      continue;
    }
    std::vector<int32_t> batch{x};
    batch.insert(batch.end(), draft.tokens.begin(), draft.tokens.end());
    const std::vector<float> rows = session.eval_tentative(batch);
    const Verdict verdict = verify_drafts({rows, &draft, history, banned}, sampler);
    stats.target_seconds += seconds_since(t1);
    ++stats.verify_steps;
    stats.drafted += int64_t(draft.tokens.size());
    stats.accepted += verdict.n_accepted;
    stats.tokens += verdict.n_accepted + 1;

    // x and the accepted drafts were evaluated by the step; the cache keeps those handed out.
    int64_t kept = 1;
    for (int32_t i = 0; i < verdict.n_accepted && going; ++i) {
      going = hand_out(draft.tokens[size_t(i)]);
      if (going) ++kept;
    }
    session.accept(kept);
    result.evaluated += size_t(kept);
    if (going) going = hand_out(verdict.next);
  }
  send(decoder.finish());
  result.seconds = seconds_since(start);
  return result;
}

}  // namespace vkgraph::models
