#include "models/chat/jinja/template.h"

#include <new>

#include <fmt/format.h>

#include "models/chat/jinja/lexer.h"
#include "models/chat/jinja/parser.h"

namespace vkgraph::jinja {

Template Template::parse(std::string_view source, const Limits& limits) {
  if (source.size() > kMaxSourceBytes) {
    throw Error(ErrorKind::Limit, fmt::format("the template is {} bytes long, more than the limit of {}", source.size(),
                                              kMaxSourceBytes));
  }
  try {
    const std::vector<Token> tokens = tokenize(source);
    return Template(std::make_shared<const Body>(jinja::parse(tokens, limits.max_parse_depth)), limits);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::Limit, "the template ran out of memory while parsing");
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Internal, fmt::format("internal error while parsing: {}", e.what()));
  }
}

std::string Template::render(const Dict& variables, std::time_t now) const {
  Evaluator evaluator(limits_, now);
  try {
    return evaluator.run(*body_, variables);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::Limit, "the template ran out of memory");
  } catch (const std::exception& e) {
    // Nothing below should throw anything else; if it does, it is still the template's failure
    // to report, never a reason to bring the program down.
    throw Error(ErrorKind::Internal, fmt::format("internal error while rendering: {}", e.what()));
  }
}

}  // namespace vkgraph::jinja
