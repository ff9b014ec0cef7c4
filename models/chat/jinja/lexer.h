#pragma once
// Template text -> tokens, with Jinja2's whitespace rules as Hugging Face configures them:
//   - line endings (\r\n, \r) become \n and one trailing newline of the template is dropped;
//   - `{%-` / `-%}` (and the same on `{{ }}` and `{# #}`) strip all whitespace on that side;
//   - trim_blocks: the first newline after a block or comment tag is removed (`+%}` keeps it);
//   - lstrip_blocks: spaces and tabs from the start of a line to a block or comment tag are
//     removed (`{%+` keeps them);
//   - `{% raw %}...{% endraw %}` is text.
// Comments are dropped here. Errors name the line and the column (counted in bytes).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::jinja {

enum class TokenType {
  Data,           // template text outside tags
  VariableBegin,  // {{
  VariableEnd,    // }}
  BlockBegin,     // {%
  BlockEnd,       // %}
  Name,
  String,    // text: the unescaped value
  Integer,   // integer
  Float,     // real
  Operator,  // text: + - / // * ** % ~ [ ] ( ) { } == != > >= < <= = . : | , ;
  End,
};

struct Token {
  TokenType type;
  std::string text;
  int64_t integer = 0;
  double real = 0;
  int line = 0, column = 0;

  bool is(TokenType t, std::string_view s) const { return type == t && text == s; }
  bool is_name(std::string_view s) const { return is(TokenType::Name, s); }
  bool is_op(std::string_view s) const { return is(TokenType::Operator, s); }
};

// Throws a Syntax jinja::Error on malformed text (unterminated tags, strings or comments,
// unbalanced brackets, characters that start no token, invalid UTF-8).
std::vector<Token> tokenize(std::string_view source);

}  // namespace vkgraph::jinja
