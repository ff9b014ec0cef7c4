#pragma once
// A Jinja template as chat templates use Jinja: parsed once, rendered many times with a dict of
// variables. The dialect is Jinja2's as Hugging Face's tokenizers configure it (trim_blocks,
// lstrip_blocks, loop controls, the immutable sandbox, json.dumps for tojson, raise_exception and
// strftime_now), so that a model's own `tokenizer.chat_template` renders the bytes it renders
// there. Templates come from downloaded files: parsing and rendering are bounded (Limits) and
// every failure is a jinja::Error with the line and column at fault.

#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "models/chat/jinja/ast.h"
#include "models/chat/jinja/error.h"
#include "models/chat/jinja/evaluator.h"
#include "models/chat/jinja/value.h"

namespace vkgraph::jinja {

class Template {
 public:
  // Real chat templates are a few kilobytes, the largest some tens; a megabyte bounds parsing
  // work and memory for a hostile file.
  static constexpr size_t kMaxSourceBytes = size_t(1) << 20;

  // Throws a Syntax Error (line, column) or a Limit Error (the size, the nesting).
  static Template parse(std::string_view source, const Limits& limits = {});

  // Renders with `variables` in scope (names to values). `now` is what strftime_now() formats.
  // Throws an Error: Runtime (with its position), Raised (raise_exception's message) or Limit.
  std::string render(const Dict& variables, std::time_t now) const;

  const Limits& limits() const { return limits_; }

 private:
  Template(std::shared_ptr<const Body> body, const Limits& limits) : body_(std::move(body)), limits_(limits) {}

  std::shared_ptr<const Body> body_;  // shared by copies: templates are immutable once parsed
  Limits limits_;
};

}  // namespace vkgraph::jinja
