// Recursive descent over the token list, one function per rule of Jinja2's parser.py, so that
// precedence and the places where tuples, conditionals and filters may appear are the same.

#include "models/chat/jinja/parser.h"

#include <algorithm>
#include <initializer_list>
#include <optional>

#include <fmt/format.h>

#include "models/chat/jinja/builtins.h"
#include "models/chat/jinja/error.h"

namespace vkgraph::jinja {

namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : t_(tokens), max_depth_(max_depth) {}

  Body parse_template() {
    Body body = subparse({});
    if (cur().type != TokenType::End) fail(cur(), fmt::format("unexpected '{}'", describe(cur())));
    return body;
  }

 private:
  // ---- tokens ----
  const Token& cur() const { return t_[i_]; }
  const Token& look(size_t k = 1) const { return t_[std::min(i_ + k, t_.size() - 1)]; }
  const Token& next() {
    const Token& tok = t_[i_];
    if (i_ + 1 < t_.size()) ++i_;
    return tok;
  }
  bool skip_op(std::string_view op) {
    if (!cur().is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!cur().is_name(name)) return false;
    next();
    return true;
  }

  static std::string describe(const Token& tok) {
    switch (tok.type) {
      case TokenType::Data:
        return "template data";
      case TokenType::VariableBegin:
        return "begin of print statement";
      case TokenType::VariableEnd:
        return "end of print statement";
      case TokenType::BlockBegin:
        return "begin of statement block";
      case TokenType::BlockEnd:
        return "end of statement block";
      case TokenType::String:
        return "string";
      case TokenType::Integer:
        return "integer";
      case TokenType::Float:
        return "float";
      case TokenType::End:
        return "end of template";
      default:
        return tok.text;
    }
  }

  [[noreturn]] void fail(const Token& at, const std::string& message) const {
    throw Error(ErrorKind::Syntax, message, at.line, at.column);
  }

  const Token& expect_op(std::string_view op) {
    if (!cur().is_op(op)) fail(cur(), fmt::format("expected '{}', got '{}'", op, describe(cur())));
    return next();
  }
  const Token& expect(TokenType type, const char* what) {
    if (cur().type != type) fail(cur(), fmt::format("expected {}, got '{}'", what, describe(cur())));
    return next();
  }
  std::string expect_name() { return expect(TokenType::Name, "a name").text; }

  // ---- nesting bounds ----
  struct Nest {
    Parser& p;
    Nest(Parser& parser, const Token& at) : p(parser) {
      if (++p.nesting_ > p.max_depth_) {
        p.fail(at, fmt::format("the template nests deeper than {} levels", p.max_depth_));
      }
    }
    ~Nest() { --p.nesting_; }
  };

  ExprPtr make(ExprType type, const Token& at) {
    auto e = std::make_unique<Expr>();
    e->type = type;
    e->line = at.line;
    e->column = at.column;
    return e;
  }

  // Records the node's height and refuses trees taller than the bound: long operator chains
  // (a + b + c ...) nest as deeply as parentheses do.
  ExprPtr finish(ExprPtr e) {
    int d = std::max({height(e->a.get()), height(e->b.get()), height(e->c.get()), height_of_args(e->args)});
    for (const ExprPtr& item : e->items) d = std::max(d, height(item.get()));
    for (const auto& cmp : e->comparisons) d = std::max(d, height(cmp.second.get()));
    e->height = d + 1;
    if (d + 1 > max_depth_) {
      throw Error(ErrorKind::Syntax, fmt::format("an expression nests deeper than {} levels", max_depth_), e->line,
                  e->column);
    }
    return e;
  }
  static int height(const Expr* e) { return e == nullptr ? 0 : e->height; }
  static int height_of_args(const Arguments& args) {
    int d = 0;
    for (const ExprPtr& p : args.positional) d = std::max(d, height(p.get()));
    for (const auto& kw : args.keywords) d = std::max(d, height(kw.second.get()));
    return std::max({d, height(args.star_args.get()), height(args.star_kwargs.get())});
  }

  bool soft() const { return soft_.back(); }
  struct Frame {
    Parser& p;
    Frame(Parser& parser, bool soft) : p(parser) { p.soft_.push_back(soft); }
    ~Frame() { p.soft_.pop_back(); }
  };

  // ---- statements ----
  Body subparse(std::initializer_list<std::string_view> end_names) {
    Body body;
    while (cur().type != TokenType::End) {
      const Token& tok = cur();
      if (tok.type == TokenType::Data) {
        auto s = std::make_unique<Stmt>();
        s->type = StmtType::Text;
        s->line = tok.line;
        s->column = tok.column;
        s->text = tok.text;
        next();
        body.push_back(std::move(s));
      } else if (tok.type == TokenType::VariableBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->type = StmtType::Output;
        s->line = tok.line;
        s->column = tok.column;
        s->expr = parse_tuple(true, {}, false);
        expect(TokenType::VariableEnd, "'}}'");
        body.push_back(std::move(s));
      } else if (tok.type == TokenType::BlockBegin) {
        next();
        for (std::string_view end : end_names) {
          if (cur().is_name(end)) return body;
        }
        body.push_back(parse_statement());
        expect(TokenType::BlockEnd, "'%}'");
      } else {
        fail(tok, fmt::format("unexpected '{}'", describe(tok)));
      }
    }
    return body;
  }

  // The body of the tag `opener` up to one of `end_names`; an error at the opener when the
  // template ends first.
  Body parse_statements(const Token& opener, std::initializer_list<std::string_view> end_names, bool drop_needle) {
    skip_op(":");
    expect(TokenType::BlockEnd, "'%}'");
    Body body = subparse(end_names);
    if (cur().type == TokenType::End) {
      std::string names;
      for (std::string_view n : end_names) names += (names.empty() ? "'" : " or '") + std::string(n) + "'";
      fail(opener,
           "unexpected end of template: the '" + opener.text + "' tag here was never closed (expected " + names + ")");
    }
    if (drop_needle) next();
    return body;
  }

  std::unique_ptr<Stmt> new_stmt(StmtType type, const Token& at) {
    auto s = std::make_unique<Stmt>();
    s->type = type;
    s->line = at.line;
    s->column = at.column;
    return s;
  }

  std::unique_ptr<Stmt> parse_statement() {
    const Token& tok = cur();
    if (tok.type != TokenType::Name) fail(tok, "a tag name was expected after '{%'");
    const Nest nest(*this, tok);
    const std::string& name = tok.text;
    if (name == "for") return parse_for();
    if (name == "if") return parse_if();
    if (name == "set") return parse_set();
    if (name == "macro") return parse_macro();
    if (name == "call") return parse_call_block();
    if (name == "filter") return parse_filter_block();
    if (name == "with") return parse_with();
    if (name == "print") {
      // `print a, b` writes each expression in turn; they go in a With without assignments, whose
      // scope no output can notice.
      next();
      auto s = new_stmt(StmtType::With, tok);
      while (cur().type != TokenType::BlockEnd) {
        if (!s->body.empty()) expect_op(",");
        auto out = new_stmt(StmtType::Output, cur());
        out->expr = parse_expression(true);
        s->body.push_back(std::move(out));
      }
      return s;
    }
    if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail(tok, fmt::format("'{}' outside a loop", name));
      next();
      return new_stmt(name == "break" ? StmtType::Break : StmtType::Continue, tok);
    }
    if (name == "generation") {
      // Hugging Face's tag marking the assistant's part; rendering it is rendering its body,
      // inside a frame of its own as Jinja2's call blocks have.
      next();
      auto s = new_stmt(StmtType::With, tok);
      const Frame frame(*this, false);
      s->body = parse_statements(tok, {"endgeneration"}, true);
      return s;
    }
    if (name == "include" || name == "import" || name == "from" || name == "extends" || name == "block") {
      fail(tok, fmt::format("'{}' is not supported: a chat template cannot use other templates", name));
    }
    fail(tok, fmt::format("unknown tag '{}'", name));
  }

  std::unique_ptr<Stmt> parse_for() {
    const Token& tok = next();
    auto s = new_stmt(StmtType::For, tok);
    s->target = parse_target({"in"}, false);
    if (!skip_name("in")) fail(cur(), fmt::format("expected 'in', got '{}'", describe(cur())));
    s->expr = parse_tuple(false, {"recursive"}, false);
    ++loop_depth_;
    {
      const Frame frame(*this, false);
      if (skip_name("if")) s->condition = parse_expression(true);
      s->recursive = skip_name("recursive");
      s->body = parse_statements(tok, {"endfor", "else"}, false);
    }
    --loop_depth_;
    if (next().text == "else") {
      const Frame frame(*this, false);
      const int loops = loop_depth_;
      loop_depth_ = 0;  // `break` in the else branch is outside the loop
      s->else_body = parse_statements(tok, {"endfor"}, true);
      loop_depth_ = loops;
    }
    return s;
  }

  std::unique_ptr<Stmt> parse_if() {
    const Token& tok = next();
    auto s = new_stmt(StmtType::If, tok);
    const Frame frame(*this, true);
    while (true) {
      ExprPtr test = parse_tuple(false, {}, false);
      Body body = parse_statements(tok, {"elif", "else", "endif"}, false);
      s->branches.emplace_back(std::move(test), std::move(body));
      const Token& end = next();
      if (end.text == "elif") continue;
      if (end.text == "else") s->else_body = parse_statements(tok, {"endif"}, true);
      break;
    }
    return s;
  }

  std::unique_ptr<Stmt> parse_set() {
    const Token& tok = next();
    Target target;
    if (cur().type == TokenType::Name && look().is_op(".")) {
      target.kind = Target::Kind::NamespaceAttribute;
      target.name = next().text;
      next();
      target.attribute = expect_name();
    } else {
      target = parse_target({}, true);
    }
    if (skip_op("=")) {
      auto s = new_stmt(StmtType::Set, tok);
      s->target = std::move(target);
      s->expr = parse_tuple(true, {}, false);
      return s;
    }
    auto s = new_stmt(StmtType::SetBlock, tok);
    s->target = std::move(target);
    if (cur().is_op("|")) s->expr = parse_filter(nullptr, false);
    const Frame frame(*this, false);
    s->body = parse_statements(tok, {"endset"}, true);
    return s;
  }

  void parse_signature(MacroSignature& sig) {
    expect_op("(");
    while (!cur().is_op(")")) {
      if (!sig.params.empty()) expect_op(",");
      const Token& at = cur();
      std::string param = expect_name();
      if (skip_op("=")) {
        sig.defaults.push_back(parse_expression(true));
      } else if (!sig.defaults.empty()) {
        fail(at, "non-default argument follows default argument");
      }
      sig.params.push_back(std::move(param));
    }
    expect_op(")");
  }

  std::unique_ptr<Stmt> parse_macro() {
    const Token& tok = next();
    auto s = new_stmt(StmtType::Macro, tok);
    s->name = expect_name();
    const Frame frame(*this, false);
    const int loops = loop_depth_;
    loop_depth_ = 0;  // a macro is a function: `break` inside it is outside any loop
    parse_signature(s->signature);
    s->body = parse_statements(tok, {"endmacro"}, true);
    loop_depth_ = loops;
    return s;
  }

  std::unique_ptr<Stmt> parse_call_block() {
    const Token& tok = next();
    auto s = new_stmt(StmtType::CallBlock, tok);
    const Frame frame(*this, false);
    if (cur().is_op("(")) parse_signature(s->signature);
    s->expr = parse_expression(true);
    if (s->expr->type != ExprType::Call) fail(tok, "expected a call after 'call'");
    const int loops = loop_depth_;
    loop_depth_ = 0;
    s->body = parse_statements(tok, {"endcall"}, true);
    loop_depth_ = loops;
    return s;
  }

  std::unique_ptr<Stmt> parse_filter_block() {
    const Token& tok = next();
    auto s = new_stmt(StmtType::FilterBlock, tok);
    const Frame frame(*this, false);
    s->expr = parse_filter(nullptr, true);
    s->body = parse_statements(tok, {"endfilter"}, true);
    return s;
  }

  std::unique_ptr<Stmt> parse_with() {
    const Token& tok = next();
    auto s = new_stmt(StmtType::With, tok);
    const Frame frame(*this, false);
    while (cur().type != TokenType::BlockEnd) {
      if (!s->assignments.empty()) expect_op(",");
      Target target = parse_target({}, false);
      expect_op("=");
      s->assignments.emplace_back(std::move(target), parse_expression(true));
    }
    s->body = parse_statements(tok, {"endwith"}, true);
    return s;
  }

  // A name, or names separated by commas (optionally in parentheses), up to `end_names`.
  Target parse_target(std::initializer_list<std::string_view> end_names, bool allow_tuple_without_parens) {
    const auto one = [&](auto&& self) -> Target {
      const Nest nest(*this, cur());
      if (skip_op("(")) {
        Target t;
        t.kind = Target::Kind::Tuple;
        while (!cur().is_op(")")) {
          if (!t.items.empty()) expect_op(",");
          if (cur().is_op(")")) break;
          t.items.push_back(self(self));
        }
        expect_op(")");
        return t;
      }
      if (cur().type != TokenType::Name || cur().text == "true" || cur().text == "false" || cur().text == "none" ||
          cur().text == "True" || cur().text == "False" || cur().text == "None") {
        fail(cur(), fmt::format("cannot assign to '{}'", describe(cur())));
      }
      Target t;
      t.name = next().text;
      return t;
    };
    Target first = one(one);
    if (!cur().is_op(",")) return first;
    (void)allow_tuple_without_parens;
    Target tuple;
    tuple.kind = Target::Kind::Tuple;
    tuple.items.push_back(std::move(first));
    while (skip_op(",")) {
      bool at_end = cur().type == TokenType::BlockEnd || cur().is_op("=");
      for (std::string_view n : end_names) at_end = at_end || cur().is_name(n);
      if (at_end) break;
      tuple.items.push_back(one(one));
    }
    return tuple;
  }

  // ---- expressions ----
  ExprPtr parse_expression(bool with_conditional) { return with_conditional ? parse_conditional() : parse_or(); }

  bool is_tuple_end(std::initializer_list<std::string_view> extra) const {
    const Token& tok = cur();
    if (tok.type == TokenType::VariableEnd || tok.type == TokenType::BlockEnd || tok.type == TokenType::End ||
        tok.is_op(")")) {
      return true;
    }
    for (std::string_view n : extra) {
      if (tok.is_name(n)) return true;
    }
    return false;
  }

  ExprPtr parse_tuple(bool with_conditional, std::initializer_list<std::string_view> extra_end,
                      bool explicit_parentheses) {
    const Token& start = cur();
    std::vector<ExprPtr> items;
    bool is_tuple = false;
    while (true) {
      if (!items.empty()) expect_op(",");
      if (is_tuple_end(extra_end)) break;
      items.push_back(parse_expression(with_conditional));
      if (cur().is_op(",")) {
        is_tuple = true;
      } else {
        break;
      }
    }
    if (!is_tuple) {
      if (!items.empty()) return std::move(items[0]);
      if (!explicit_parentheses) fail(cur(), fmt::format("expected an expression, got '{}'", describe(cur())));
    }
    ExprPtr e = make(ExprType::Tuple, start);
    e->items = std::move(items);
    return finish(std::move(e));
  }

  ExprPtr parse_conditional() {
    const Nest nest(*this, cur());
    ExprPtr expr1 = parse_or();
    while (cur().is_name("if")) {
      const Token& tok = next();
      const Frame frame(*this, true);
      ExprPtr cond = make(ExprType::Conditional, tok);
      cond->b = parse_or();
      if (skip_name("else")) cond->c = parse_conditional();
      cond->a = std::move(expr1);
      expr1 = finish(std::move(cond));
    }
    return expr1;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (cur().is_name("or")) {
      ExprPtr e = make(ExprType::Or, next());
      e->a = std::move(left);
      e->b = parse_and();
      left = finish(std::move(e));
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (cur().is_name("and")) {
      ExprPtr e = make(ExprType::And, next());
      e->a = std::move(left);
      e->b = parse_not();
      left = finish(std::move(e));
    }
    return left;
  }

  ExprPtr parse_not() {
    if (cur().is_name("not")) {
      const Nest nest(*this, cur());
      ExprPtr e = make(ExprType::Not, next());
      e->a = parse_not();
      return finish(std::move(e));
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    const Token& start = cur();
    ExprPtr expr = parse_math1();
    std::vector<std::pair<CompareOp, ExprPtr>> ops;
    while (true) {
      const Token& tok = cur();
      std::optional<CompareOp> op;
      if (tok.is_op("==")) op = CompareOp::Eq;
      if (tok.is_op("!=")) op = CompareOp::Ne;
      if (tok.is_op("<")) op = CompareOp::Lt;
      if (tok.is_op("<=")) op = CompareOp::Le;
      if (tok.is_op(">")) op = CompareOp::Gt;
      if (tok.is_op(">=")) op = CompareOp::Ge;
      if (op) {
        next();
      } else if (tok.is_name("in")) {
        next();
        op = CompareOp::In;
      } else if (tok.is_name("not") && look().is_name("in")) {
        next();
        next();
        op = CompareOp::NotIn;
      } else {
        break;
      }
      ops.emplace_back(*op, parse_math1());
    }
    if (ops.empty()) return expr;
    ExprPtr e = make(ExprType::Compare, start);
    e->a = std::move(expr);
    e->comparisons = std::move(ops);
    return finish(std::move(e));
  }

  ExprPtr binary(ExprPtr left, BinaryOp op, const Token& at, ExprPtr right) {
    ExprPtr e = make(ExprType::Binary, at);
    e->op = op;
    e->a = std::move(left);
    e->b = std::move(right);
    return finish(std::move(e));
  }

  ExprPtr parse_math1() {
    ExprPtr left = parse_concat();
    while (cur().is_op("+") || cur().is_op("-")) {
      const Token& tok = next();
      left = binary(std::move(left), tok.text == "+" ? BinaryOp::Add : BinaryOp::Sub, tok, parse_concat());
    }
    return left;
  }

  ExprPtr parse_concat() {
    const Token& start = cur();
    ExprPtr first = parse_math2();
    if (!cur().is_op("~")) return first;
    ExprPtr e = make(ExprType::Concat, start);
    e->items.push_back(std::move(first));
    while (skip_op("~")) e->items.push_back(parse_math2());
    return finish(std::move(e));
  }

  ExprPtr parse_math2() {
    ExprPtr left = parse_pow();
    while (true) {
      const Token& tok = cur();
      BinaryOp op;
      if (tok.is_op("*")) {
        op = BinaryOp::Mul;
      } else if (tok.is_op("/")) {
        op = BinaryOp::Div;
      } else if (tok.is_op("//")) {
        op = BinaryOp::FloorDiv;
      } else if (tok.is_op("%")) {
        op = BinaryOp::Mod;
      } else {
        break;
      }
      next();
      left = binary(std::move(left), op, tok, parse_pow());
    }
    return left;
  }

  ExprPtr parse_pow() {
    ExprPtr left = parse_unary(true);
    while (cur().is_op("**")) {
      const Token& tok = next();
      left = binary(std::move(left), BinaryOp::Pow, tok, parse_unary(true));
    }
    return left;
  }

  ExprPtr parse_unary(bool with_filter) {
    const Token& tok = cur();
    ExprPtr node;
    if (tok.is_op("-") || tok.is_op("+")) {
      const Nest nest(*this, tok);
      next();
      node = make(tok.text == "-" ? ExprType::Negate : ExprType::Plus, tok);
      node->a = parse_unary(false);
      node = finish(std::move(node));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filter_expr(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& tok = cur();
    switch (tok.type) {
      case TokenType::Name: {
        next();
        ExprPtr e = make(ExprType::Literal, tok);
        if (tok.text == "true" || tok.text == "True") {
          e->value = true;
        } else if (tok.text == "false" || tok.text == "False") {
          e->value = false;
        } else if (tok.text == "none" || tok.text == "None") {
          e->value = Value::none();
        } else {
          e->type = ExprType::Name;
          e->name = tok.text;
        }
        return finish(std::move(e));
      }
      case TokenType::String: {
        std::string s;
        while (cur().type == TokenType::String) s += next().text;  // adjacent strings concatenate
        ExprPtr e = make(ExprType::Literal, tok);
        e->value = std::move(s);
        return finish(std::move(e));
      }
      case TokenType::Integer:
      case TokenType::Float: {
        next();
        ExprPtr e = make(ExprType::Literal, tok);
        e->value = tok.type == TokenType::Integer ? Value(tok.integer) : Value(tok.real);
        return finish(std::move(e));
      }
      case TokenType::Operator: {
        const Nest nest(*this, tok);
        if (tok.text == "(") {
          next();
          ExprPtr e = parse_tuple(true, {}, true);
          expect_op(")");
          return e;
        }
        if (tok.text == "[") return parse_list();
        if (tok.text == "{") return parse_dict();
        break;
      }
      default:
        break;
    }
    fail(tok, fmt::format("unexpected '{}'", describe(tok)));
  }

  ExprPtr parse_list() {
    const Token& tok = expect_op("[");
    ExprPtr e = make(ExprType::List, tok);
    while (!cur().is_op("]")) {
      if (!e->items.empty()) expect_op(",");
      if (cur().is_op("]")) break;
      e->items.push_back(parse_expression(true));
    }
    expect_op("]");
    return finish(std::move(e));
  }

  ExprPtr parse_dict() {
    const Token& tok = expect_op("{");
    ExprPtr e = make(ExprType::Dict, tok);
    while (!cur().is_op("}")) {
      if (!e->items.empty()) expect_op(",");
      if (cur().is_op("}")) break;
      e->items.push_back(parse_expression(true));
      expect_op(":");
      e->items.push_back(parse_expression(true));
    }
    expect_op("}");
    return finish(std::move(e));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      if (cur().is_op(".") || cur().is_op("[")) {
        node = parse_subscript(std::move(node));
      } else if (cur().is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_filter_expr(ExprPtr node) {
    while (true) {
      if (cur().is_op("|")) {
        node = parse_filter(std::move(node), false);
      } else if (cur().is_name("is")) {
        node = parse_test(std::move(node));
      } else if (cur().is_op("(")) {
        node = parse_call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr node) {
    const Token& tok = next();
    if (tok.text == ".") {
      const Token& attr = cur();
      if (attr.type == TokenType::Name) {
        next();
        ExprPtr e = make(ExprType::GetAttr, tok);
        e->a = std::move(node);
        e->name = attr.text;
        return finish(std::move(e));
      }
      if (attr.type != TokenType::Integer) fail(attr, "expected a name or a number after '.'");
      next();
      ExprPtr key = make(ExprType::Literal, attr);
      key->value = attr.integer;
      ExprPtr e = make(ExprType::GetItem, tok);
      e->a = std::move(node);
      e->b = finish(std::move(key));
      return finish(std::move(e));
    }
    std::vector<ExprPtr> args;
    while (!cur().is_op("]")) {
      if (!args.empty()) expect_op(",");
      args.push_back(parse_subscribed());
    }
    expect_op("]");
    ExprPtr e = make(ExprType::GetItem, tok);
    e->a = std::move(node);
    if (args.size() == 1) {
      e->b = std::move(args[0]);
    } else {
      ExprPtr tuple = make(ExprType::Tuple, tok);
      tuple->items = std::move(args);
      e->b = finish(std::move(tuple));
    }
    return finish(std::move(e));
  }

  ExprPtr parse_subscribed() {
    const Token& start = cur();
    ExprPtr first;
    if (!skip_op(":")) {
      first = parse_expression(true);
      if (!skip_op(":")) return first;
    }
    ExprPtr e = make(ExprType::Slice, start);
    e->a = std::move(first);
    if (!cur().is_op(":") && !cur().is_op("]") && !cur().is_op(",")) e->b = parse_expression(true);
    if (skip_op(":")) {
      if (!cur().is_op("]") && !cur().is_op(",")) e->c = parse_expression(true);
    }
    return finish(std::move(e));
  }

  void parse_call_args(Arguments& args) {
    const Token& open = expect_op("(");
    bool require_comma = false;
    while (!cur().is_op(")")) {
      if (require_comma) {
        expect_op(",");
        if (cur().is_op(")")) break;
      }
      const auto ensure = [&](bool ok) {
        if (!ok) fail(open, "invalid syntax for function call expression");
      };
      if (skip_op("*")) {
        ensure(!args.star_args && !args.star_kwargs);
        args.star_args = parse_expression(true);
      } else if (skip_op("**")) {
        ensure(!args.star_kwargs);
        args.star_kwargs = parse_expression(true);
      } else if (cur().type == TokenType::Name && look().is_op("=")) {
        ensure(!args.star_kwargs);
        std::string key = next().text;
        next();
        args.keywords.emplace_back(std::move(key), parse_expression(true));
      } else {
        ensure(!args.star_args && !args.star_kwargs && args.keywords.empty());
        args.positional.push_back(parse_expression(true));
      }
      require_comma = true;
    }
    expect_op(")");
  }

  ExprPtr parse_call(ExprPtr node) {
    const Nest nest(*this, cur());
    ExprPtr e = make(ExprType::Call, cur());
    e->a = std::move(node);
    parse_call_args(e->args);
    return finish(std::move(e));
  }

  std::string dotted_name() {
    std::string name = expect_name();
    while (skip_op(".")) name += "." + expect_name();
    return name;
  }

  // `| name(args)` filters, applied to `node` (null inside filter blocks and block sets).
  ExprPtr parse_filter(ExprPtr node, bool start_inline) {
    while (cur().is_op("|") || start_inline) {
      if (!start_inline) next();
      start_inline = false;
      const Token& tok = cur();
      ExprPtr e = make(ExprType::Filter, tok);
      e->name = dotted_name();
      e->filter = find_filter(e->name);
      if (e->filter == nullptr && !soft()) fail(tok, fmt::format("no filter named '{}'", e->name));
      e->a = std::move(node);
      if (cur().is_op("(")) {
        const Nest nest(*this, cur());
        parse_call_args(e->args);
      }
      node = finish(std::move(e));
    }
    return node;
  }

  ExprPtr parse_test(ExprPtr node) {
    const Token& is = next();
    const bool negated = skip_name("not");
    const Token& tok = cur();
    ExprPtr e = make(ExprType::Test, tok);
    e->name = dotted_name();
    e->test = find_test(e->name);
    if (e->test == nullptr && !soft()) fail(tok, fmt::format("no test named '{}'", e->name));
    e->a = std::move(node);
    const Token& arg = cur();
    if (arg.is_op("(")) {
      const Nest nest(*this, arg);
      parse_call_args(e->args);
    } else if ((arg.type == TokenType::Name || arg.type == TokenType::String || arg.type == TokenType::Integer ||
                arg.type == TokenType::Float || arg.is_op("[") || arg.is_op("{")) &&
               !arg.is_name("else") && !arg.is_name("or") && !arg.is_name("and")) {
      if (arg.is_name("is")) fail(arg, "you cannot chain multiple tests with is");
      const Nest nest(*this, arg);
      e->args.positional.push_back(parse_postfix(parse_primary()));
    }
    e = finish(std::move(e));
    if (!negated) return e;
    ExprPtr n = make(ExprType::Not, is);
    n->a = std::move(e);
    return finish(std::move(n));
  }

  const std::vector<Token>& t_;
  size_t i_ = 0;
  int max_depth_;
  int nesting_ = 0;
  int loop_depth_ = 0;
  std::vector<bool> soft_{false};
};

}  // namespace

Body parse(const std::vector<Token>& tokens, int max_depth) { return Parser(tokens, max_depth).parse_template(); }

}  // namespace vkgraph::jinja
