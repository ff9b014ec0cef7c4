#pragma once
// Tokens -> statements, with Jinja2's grammar and operator precedence (parser.py): conditional
// expressions, or, and, not, comparisons, + -, ~, * / // %, **, unary - +, then postfix lookups,
// calls, filters and tests. Tags: for (with loop filters, else, recursive), if/elif/else, set
// (also `ns.attr` and block sets), macro, call, filter, with, break, continue, print, and Hugging
// Face's generation tag. A filter or test that does not exist is a syntax error, except inside an
// if or a conditional expression, where Jinja2 only fails if it runs.

#include <vector>

#include "models/chat/jinja/ast.h"
#include "models/chat/jinja/lexer.h"

namespace vkgraph::jinja {

// `max_depth` bounds the nesting of expressions and blocks, so that a hostile template cannot
// exhaust the stack of the parser or the evaluator.
Body parse(const std::vector<Token>& tokens, int max_depth);

}  // namespace vkgraph::jinja
