#pragma once
// Runs a parsed template: statements write to the output, expressions become values. Scoping is
// Jinja2's: a for loop's body and every macro call get a scope of their own (what they set stays
// inside, which is why templates carry state out of loops in a namespace), while if branches do
// not. Every run is bounded: work (one step per node evaluated and per 16 bytes built), the size
// of any string and of the output, and the nesting of evaluation (macro recursion included), so
// that a hostile template ends with a Limit error instead of a hang or a crash.

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/chat/jinja/ast.h"
#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

struct Limits {
  // The output, and any one string or list a template builds. A chat prompt of a 128k-token
  // context is about 0.5 MB; 32 MiB leaves room for any real conversation and its tool schemas.
  size_t max_bytes = size_t(32) << 20;
  // The real templates render a 4-message conversation in a few thousand steps, and a 100-turn
  // conversation of 0.5 MB in about two million. 20 million is about a second of work, and since
  // every 16 bytes built cost a step, it also caps what a run can allocate at about 320 MB.
  uint64_t max_steps = 20'000'000;
  // Evaluation nesting. Real templates nest a few levels (a recursive macro rendering a JSON
  // schema, a dozen); each level costs a few hundred bytes of stack, so 400 stays far from any
  // thread's stack size.
  int max_depth = 400;
  // Nesting of the parsed template (brackets, operator chains, blocks): real templates stay
  // below 20; deeper trees are refused before anything runs.
  int max_parse_depth = 128;
};

struct Scope;

class Evaluator {
 public:
  // `now`: what strftime_now() formats (local time).
  Evaluator(const Limits& limits, std::time_t now);
  ~Evaluator();

  // Renders `body` with the variables of `context` (and the globals) in scope.
  std::string run(const Body& body, const Dict& context);

  // Calls a function, macro or callable object with arguments.
  Value call(const Value& callee, CallArgs& args);
  // A filter or test by name, as map() and select() apply them.
  Value apply_filter(std::string_view name, const Value& subject, CallArgs& args);
  bool apply_test(std::string_view name, const Value& subject, CallArgs& args);

  size_t max_bytes() const { return limits_.max_bytes; }
  void charge(uint64_t steps);  // counts work; a Limit error past max_steps
  void charge_bytes(size_t bytes) { charge(1 + bytes / 16); }
  void check_size(size_t bytes) const;  // a Limit error past max_bytes
  std::time_t now() const { return now_; }
  // Namespaces made by namespace(): emptied after the run (a namespace may hold itself).
  void track_namespace(const Value& ns);

  // Runs a loop's body again over `items` (a recursive loop calling `loop(...)`).
  std::string rerun_loop(const Stmt& loop, std::shared_ptr<Scope> scope, const Value& items, int depth);

 private:
  enum class Flow { Normal, Break, Continue };

  Value eval(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_inner(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_filter(const Expr& e, const std::shared_ptr<Scope>& scope, const Value* block_body);
  Value eval_test(const Expr& e, const std::shared_ptr<Scope>& scope);
  Value eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope);
  CallArgs eval_args(const Arguments& args, const std::shared_ptr<Scope>& scope);

  Flow exec(const Body& body, const std::shared_ptr<Scope>& scope);
  Flow exec_one(const Stmt& s, const std::shared_ptr<Scope>& scope);
  void exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, const Value& iterable, int depth);
  void assign(const Target& target, const Value& value, Scope& scope);
  Value make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope);
  std::string capture(const Body& body, const std::shared_ptr<Scope>& scope, Flow* flow);
  void write(std::string_view text);

  struct DepthGuard;

  Limits limits_;
  std::time_t now_;
  uint64_t steps_ = 0;
  int depth_ = 0;
  std::string* out_ = nullptr;
  // Scopes captured by macros and recursive loops, and namespaces: emptied after the run, which
  // frees the reference cycles a closure over its own scope makes.
  std::vector<std::weak_ptr<Scope>> captured_scopes_;
  std::vector<std::weak_ptr<Dict>> namespaces_;
};

}  // namespace vkgraph::jinja
