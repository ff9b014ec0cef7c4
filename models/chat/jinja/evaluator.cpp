// Statement execution and expression evaluation (see evaluator.h). Errors raised below a node
// without a position get that node's line and column on the way out.

#include "models/chat/jinja/evaluator.h"

#include <algorithm>

#include <fmt/format.h>

#include "models/chat/jinja/builtins.h"
#include "models/chat/jinja/error.h"
#include "models/chat/jinja/operations.h"

namespace vkgraph::jinja {

struct Scope {
  std::shared_ptr<Scope> parent;
  std::vector<std::pair<std::string, Value>> vars;

  explicit Scope(std::shared_ptr<Scope> p) : parent(std::move(p)) {}

  const Value* find(std::string_view name) const {
    for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
      for (const auto& [k, v] : s->vars) {
        if (k == name) return &v;
      }
    }
    return nullptr;
  }
  void set(std::string_view name, Value value) {
    for (auto& [k, v] : vars) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    vars.emplace_back(std::string(name), std::move(value));
  }
};

namespace {

// `loop` inside a for loop.
class LoopObject : public Object {
 public:
  struct Changed {
    bool has_last = false;
    Value last;
  };
  LoopObject(std::shared_ptr<const ValueList> items, size_t index, int depth, std::shared_ptr<Changed> changed,
             const Stmt* recursive_loop, std::weak_ptr<Scope> scope)
      : items_(std::move(items)),
        index_(index),
        depth_(depth),
        changed_(std::move(changed)),
        loop_(recursive_loop),
        scope_(std::move(scope)) {}

  std::string_view type_name() const override { return "LoopContext"; }
  std::string repr() const override { return fmt::format("<LoopContext {}/{}>", index_ + 1, items_->size()); }

  Value attribute(std::string_view name) const override {
    const int64_t n = int64_t(items_->size()), i = int64_t(index_);
    if (name == "index") return i + 1;
    if (name == "index0") return i;
    if (name == "revindex") return n - i;
    if (name == "revindex0") return n - i - 1;
    if (name == "first") return i == 0;
    if (name == "last") return i == n - 1;
    if (name == "length") return n;
    if (name == "depth") return int64_t(depth_);
    if (name == "depth0") return int64_t(depth_ - 1);
    if (name == "previtem") return i > 0 ? (*items_)[index_ - 1] : Value::undefined("there is no previous item");
    if (name == "nextitem") return i + 1 < n ? (*items_)[index_ + 1] : Value::undefined("there is no next item");
    if (name == "cycle") {
      const size_t index = index_;
      return Value::function("loop.cycle", [index](Evaluator&, CallArgs& args) -> Value {
        if (args.positional.empty()) runtime_error("no items for cycling given");
        return args.positional[index % args.positional.size()];
      });
    }
    if (name == "changed") {
      std::shared_ptr<Changed> state = changed_;
      return Value::function("loop.changed", [state](Evaluator&, CallArgs& args) -> Value {
        const Value now = Value::tuple(args.positional);
        if (state->has_last && equals(state->last, now)) return false;
        state->has_last = true;
        state->last = now;
        return true;
      });
    }
    return Object::attribute(name);
  }

  const Stmt* recursive_loop() const { return loop_; }
  std::shared_ptr<Scope> scope() const { return scope_.lock(); }
  int depth() const { return depth_; }

 private:
  std::shared_ptr<const ValueList> items_;
  size_t index_;
  int depth_;
  std::shared_ptr<Changed> changed_;
  const Stmt* loop_;
  std::weak_ptr<Scope> scope_;
};

bool is_hashable(const Value& v) {
  if (v.kind() == Kind::Tuple) return std::all_of(v.items().begin(), v.items().end(), is_hashable);
  return !(v.kind() == Kind::List || v.is_dict() || v.is_namespace() || v.is_undefined());
}

}  // namespace

struct Evaluator::DepthGuard {
  Evaluator& ev;
  explicit DepthGuard(Evaluator& e) : ev(e) {
    if (++ev.depth_ > ev.limits_.max_depth) {
      --ev.depth_;
      limit_error(fmt::format("the template nests or recurses deeper than {} levels", ev.limits_.max_depth));
    }
  }
  ~DepthGuard() { --ev.depth_; }
};

Evaluator::Evaluator(const Limits& limits, std::time_t now) : limits_(limits), now_(now) {}

Evaluator::~Evaluator() = default;

void Evaluator::charge(uint64_t steps) {
  steps_ += steps;
  if (steps_ > limits_.max_steps) {
    limit_error(fmt::format("the template did more than {} steps of work", limits_.max_steps));
  }
}

void Evaluator::check_size(size_t bytes) const {
  if (bytes > limits_.max_bytes) {
    limit_error(fmt::format("the template built {} bytes, more than the limit of {}", bytes, limits_.max_bytes));
  }
}

namespace {

// Appends to a list of weak references, first dropping the expired ones when it has doubled: a
// macro defined in a loop registers every iteration's scope, and an expired weak reference still
// holds its object's memory.
template <typename T>
void track(std::vector<std::weak_ptr<T>>& list, std::weak_ptr<T> item) {
  if (list.size() >= 1024 && (list.size() & (list.size() - 1)) == 0) {
    std::erase_if(list, [](const std::weak_ptr<T>& w) { return w.expired(); });
  }
  list.push_back(std::move(item));
}

}  // namespace

void Evaluator::track_namespace(const Value& ns) { track(namespaces_, ns.namespace_handle()); }

std::string Evaluator::run(const Body& body, const Dict& context) {
  auto root = std::make_shared<Scope>(nullptr);
  for (auto& [name, value] : global_functions().entries) root->set(name.string(), value);
  for (const auto& [name, value] : context.entries) {
    if (name.is_string()) root->set(name.string(), value);
  }
  std::string output;
  out_ = &output;
  // Macros and namespaces can hold the scopes that hold them; emptying them afterwards frees
  // such cycles whether the run ends normally or not.
  struct Cleanup {
    Evaluator& ev;
    std::shared_ptr<Scope>& root;
    ~Cleanup() {
      for (const auto& weak : ev.captured_scopes_) {
        if (auto s = weak.lock()) s->vars.clear();
      }
      for (const auto& weak : ev.namespaces_) {
        if (auto d = weak.lock()) d->entries.clear();
      }
      root->vars.clear();
      ev.captured_scopes_.clear();
      ev.namespaces_.clear();
      ev.out_ = nullptr;
    }
  } cleanup{*this, root};
  exec(body, root);
  return output;
}

void Evaluator::write(std::string_view text) {
  check_size(out_->size() + text.size());
  charge_bytes(text.size());
  out_->append(text);
}

std::string Evaluator::capture(const Body& body, const std::shared_ptr<Scope>& scope, Flow* flow) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  struct Restore {
    Evaluator& ev;
    std::string* saved;
    ~Restore() { ev.out_ = saved; }
  } restore{*this, saved};
  const Flow f = exec(body, scope);
  if (flow != nullptr) *flow = f;
  return buffer;
}

Evaluator::Flow Evaluator::exec(const Body& body, const std::shared_ptr<Scope>& scope) {
  for (const auto& s : body) {
    const Flow flow = exec_one(*s, scope);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec_one(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  const DepthGuard guard(*this);
  charge(1);
  try {
    switch (s.type) {
      case StmtType::Text:
        write(s.text);
        return Flow::Normal;
      case StmtType::Output: {
        const Value v = eval(*s.expr, scope);
        write(v.is_string() ? std::string_view(v.string()) : std::string_view(to_string(v)));
        return Flow::Normal;
      }
      case StmtType::If:
        for (const auto& [test, body] : s.branches) {
          if (truthy(eval(*test, scope))) return exec(body, scope);
        }
        return exec(s.else_body, scope);
      case StmtType::For:
        exec_for(s, scope, eval(*s.expr, scope), 1);
        return Flow::Normal;
      case StmtType::Set:
        assign(s.target, eval(*s.expr, scope), *scope);
        return Flow::Normal;
      case StmtType::SetBlock: {
        Flow flow = Flow::Normal;
        Value body = capture(s.body, std::make_shared<Scope>(scope), &flow);
        if (s.expr) body = eval_filter(*s.expr, scope, &body);
        assign(s.target, body, *scope);
        return flow;
      }
      case StmtType::Macro:
        scope->set(s.name, make_macro(s, scope));
        return Flow::Normal;
      case StmtType::CallBlock: {
        const Expr& call = *s.expr;
        const Value callee = eval(*call.a, scope);
        CallArgs args = eval_args(call.args, scope);
        args.keywords.emplace_back("caller", make_macro(s, scope));
        const Value result = this->call(callee, args);
        write(to_string(result));
        return Flow::Normal;
      }
      case StmtType::FilterBlock: {
        Flow flow = Flow::Normal;
        const Value body = capture(s.body, std::make_shared<Scope>(scope), &flow);
        write(to_string(eval_filter(*s.expr, scope, &body)));
        return flow;
      }
      case StmtType::With: {
        auto inner = std::make_shared<Scope>(scope);
        for (const auto& [target, value] : s.assignments) assign(target, eval(*value, scope), *inner);
        return exec(s.body, inner);
      }
      case StmtType::Break:
        return Flow::Break;
      case StmtType::Continue:
        return Flow::Continue;
    }
  } catch (const Error& e) {
    if (!e.has_position()) throw e.at(s.line, s.column);
    throw;
  }
  return Flow::Normal;
}

void Evaluator::exec_for(const Stmt& s, const std::shared_ptr<Scope>& scope, const Value& iterable, int depth) {
  ValueList items = iterate(iterable);
  charge(items.size());
  if (s.condition) {
    ValueList kept;
    for (Value& item : items) {
      auto test_scope = std::make_shared<Scope>(scope);
      assign(s.target, item, *test_scope);
      if (truthy(eval(*s.condition, test_scope))) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body, std::make_shared<Scope>(scope));
    return;
  }
  const auto shared_items = std::make_shared<const ValueList>(std::move(items));
  const auto changed = std::make_shared<LoopObject::Changed>();
  if (s.recursive) track(captured_scopes_, std::weak_ptr<Scope>(scope));
  for (size_t i = 0; i < shared_items->size(); ++i) {
    auto iteration = std::make_shared<Scope>(scope);
    assign(s.target, (*shared_items)[i], *iteration);
    iteration->set("loop", Value::object(std::make_shared<LoopObject>(shared_items, i, depth, changed,
                                                                      s.recursive ? &s : nullptr, scope)));
    if (exec(s.body, iteration) == Flow::Break) break;
  }
}

std::string Evaluator::rerun_loop(const Stmt& loop, std::shared_ptr<Scope> scope, const Value& items, int depth) {
  std::string buffer;
  std::string* saved = out_;
  out_ = &buffer;
  struct Restore {
    Evaluator& ev;
    std::string* saved;
    ~Restore() { ev.out_ = saved; }
  } restore{*this, saved};
  exec_for(loop, scope, items, depth);
  return buffer;
}

void Evaluator::assign(const Target& target, const Value& value, Scope& scope) {
  switch (target.kind) {
    case Target::Kind::Name:
      scope.set(target.name, value);
      return;
    case Target::Kind::NamespaceAttribute: {
      const Value* ns = scope.find(target.name);
      if (ns == nullptr || !ns->is_namespace()) {
        runtime_error(fmt::format("cannot assign attribute on non-namespace object '{}'", target.name));
      }
      ns->namespace_attributes().set(Value(target.attribute), value);
      return;
    }
    case Target::Kind::Tuple: {
      const ValueList items = iterate(value);
      if (items.size() != target.items.size()) {
        runtime_error(
            items.size() > target.items.size()
                ? fmt::format("too many values to unpack (expected {})", target.items.size())
                : fmt::format("not enough values to unpack (expected {}, got {})", target.items.size(), items.size()));
      }
      for (size_t i = 0; i < items.size(); ++i) assign(target.items[i], items[i], scope);
      return;
    }
  }
}

// A macro (or a call block's body) as a function. Arguments bind as Jinja2 binds them: by
// position, then by name, then defaults evaluated in the macro's scope; a parameter given none
// of these is undefined; extra ones land in `varargs` and `kwargs`.
Value Evaluator::make_macro(const Stmt& s, const std::shared_ptr<Scope>& scope) {
  track(captured_scopes_, std::weak_ptr<Scope>(scope));
  std::weak_ptr<Scope> defining = scope;
  const Stmt* stmt = &s;
  const std::string name = s.type == StmtType::Macro ? s.name : "caller";
  return Value::function(name, [stmt, defining, name](Evaluator& ev, CallArgs& args) -> Value {
    std::shared_ptr<Scope> parent = defining.lock();
    if (!parent) runtime_error(fmt::format("macro '{}' was called after the scope it was defined in ended", name));
    auto local = std::make_shared<Scope>(parent);
    const MacroSignature& sig = stmt->signature;
    const size_t n = sig.params.size();
    std::vector<bool> bound(n, false);
    for (size_t i = 0; i < n && i < args.positional.size(); ++i) {
      local->set(sig.params[i], args.positional[i]);
      bound[i] = true;
    }
    Dict extra_keywords;
    for (auto& [key, value] : args.keywords) {
      const auto it = std::find(sig.params.begin(), sig.params.end(), key);
      if (it == sig.params.end()) {
        if (key == "caller") {
          local->set("caller", value);
        } else {
          extra_keywords.set(Value(key), value);
        }
        continue;
      }
      const size_t i = size_t(it - sig.params.begin());
      if (bound[i]) runtime_error(fmt::format("macro '{}' got multiple values for argument '{}'", name, key));
      local->set(key, value);
      bound[i] = true;
    }
    const size_t first_default = n - sig.defaults.size();
    for (size_t i = 0; i < n; ++i) {
      if (bound[i]) continue;
      if (i >= first_default) {
        local->set(sig.params[i], ev.eval(*sig.defaults[i - first_default], local));
      } else {
        local->set(sig.params[i], Value::undefined(fmt::format("parameter '{}' was not provided", sig.params[i])));
      }
    }
    ValueList rest;
    for (size_t i = n; i < args.positional.size(); ++i) rest.push_back(args.positional[i]);
    local->set("varargs", Value::tuple(std::move(rest)));
    local->set("kwargs", Value::dict(std::move(extra_keywords)));
    const DepthGuard guard(ev);
    return ev.capture(stmt->body, local, nullptr);
  });
}

Value Evaluator::call(const Value& callee, CallArgs& args) {
  const DepthGuard guard(*this);
  charge(1);
  switch (callee.kind()) {
    case Kind::Function:
      return callee.function().call(*this, args);
    case Kind::Object: {
      const auto* loop = dynamic_cast<const LoopObject*>(&callee.object());
      if (loop != nullptr) {
        if (loop->recursive_loop() == nullptr) {
          runtime_error("the loop must have the 'recursive' marker to be called");
        }
        if (args.positional.size() != 1 || !args.keywords.empty()) runtime_error("loop() takes one argument");
        std::shared_ptr<Scope> scope = loop->scope();
        if (!scope) runtime_error("a recursive loop was called after it ended");
        return rerun_loop(*loop->recursive_loop(), scope, args.positional[0], loop->depth() + 1);
      }
      break;
    }
    case Kind::Undefined:
      fail_undefined(callee);
    default:
      break;
  }
  runtime_error(fmt::format("'{}' object is not callable", type_name(callee)));
}

Value Evaluator::apply_filter(std::string_view name, const Value& subject, CallArgs& args) {
  const Filter* f = find_filter(name);
  if (f == nullptr) runtime_error(fmt::format("no filter named '{}'", name));
  charge(1);
  return f->apply(*this, subject, args);
}

bool Evaluator::apply_test(std::string_view name, const Value& subject, CallArgs& args) {
  const Test* t = find_test(name);
  if (t == nullptr) runtime_error(fmt::format("no test named '{}'", name));
  charge(1);
  return t->check(*this, subject, args);
}

CallArgs Evaluator::eval_args(const Arguments& args, const std::shared_ptr<Scope>& scope) {
  CallArgs out;
  for (const ExprPtr& p : args.positional) out.positional.push_back(eval(*p, scope));
  for (const auto& [key, value] : args.keywords) out.keywords.emplace_back(key, eval(*value, scope));
  if (args.star_args) {
    for (Value& v : iterate(eval(*args.star_args, scope))) out.positional.push_back(std::move(v));
  }
  if (args.star_kwargs) {
    const Value kw = eval(*args.star_kwargs, scope);
    if (!kw.is_dict()) runtime_error(fmt::format("argument after ** must be a mapping, not {}", type_name(kw)));
    for (const auto& [k, v] : kw.dict().entries) {
      if (!k.is_string()) runtime_error("keywords must be strings");
      out.keywords.emplace_back(k.string(), v);
    }
  }
  return out;
}

Value Evaluator::eval(const Expr& e, const std::shared_ptr<Scope>& scope) {
  const DepthGuard guard(*this);
  charge(1);
  try {
    return eval_inner(e, scope);
  } catch (const Error& err) {
    if (!err.has_position()) throw err.at(e.line, e.column);
    throw;
  }
}

Value Evaluator::eval_filter(const Expr& e, const std::shared_ptr<Scope>& scope, const Value* block_body) {
  Value subject;
  if (e.a) {
    subject = e.a->type == ExprType::Filter ? eval_filter(*e.a, scope, block_body) : eval(*e.a, scope);
  } else if (block_body != nullptr) {
    subject = *block_body;
  }
  CallArgs args = eval_args(e.args, scope);
  if (e.filter == nullptr) runtime_error(fmt::format("no filter named '{}'", e.name));
  const Value result = e.filter->apply(*this, subject, args);
  if (result.is_string()) charge_bytes(result.string().size());
  return result;
}

Value Evaluator::eval_test(const Expr& e, const std::shared_ptr<Scope>& scope) {
  const Value subject = eval(*e.a, scope);
  CallArgs args = eval_args(e.args, scope);
  if (e.test == nullptr) runtime_error(fmt::format("no test named '{}'", e.name));
  return e.test->check(*this, subject, args);
}

Value Evaluator::eval_compare(const Expr& e, const std::shared_ptr<Scope>& scope) {
  Value left = eval(*e.a, scope);
  for (const auto& [op, operand] : e.comparisons) {
    Value right = eval(*operand, scope);
    bool ok = false;
    switch (op) {
      case CompareOp::Eq:
        ok = equals(left, right);
        break;
      case CompareOp::Ne:
        ok = !equals(left, right);
        break;
      case CompareOp::Lt:
        ok = less(left, right);
        break;
      case CompareOp::Le:
        ok = less(left, right) || equals(left, right);
        break;
      case CompareOp::Gt:
        ok = less(right, left);
        break;
      case CompareOp::Ge:
        ok = less(right, left) || equals(left, right);
        break;
      case CompareOp::In:
        ok = contains(right, left);
        break;
      case CompareOp::NotIn:
        ok = !contains(right, left);
        break;
    }
    if (!ok) return false;
    left = std::move(right);
  }
  return true;
}

Value Evaluator::eval_inner(const Expr& e, const std::shared_ptr<Scope>& scope) {
  switch (e.type) {
    case ExprType::Literal:
      return e.value;
    case ExprType::Name: {
      const Value* v = scope->find(e.name);
      return v != nullptr ? *v : Value::undefined(fmt::format("'{}' is undefined", e.name));
    }
    case ExprType::List:
    case ExprType::Tuple: {
      ValueList items;
      items.reserve(e.items.size());
      for (const ExprPtr& item : e.items) items.push_back(eval(*item, scope));
      return e.type == ExprType::List ? Value::list(std::move(items)) : Value::tuple(std::move(items));
    }
    case ExprType::Dict: {
      Dict d;
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        Value key = eval(*e.items[i], scope);
        if (!is_hashable(key)) runtime_error(fmt::format("unhashable type: '{}'", type_name(key)));
        d.set(std::move(key), eval(*e.items[i + 1], scope));
      }
      return Value::dict(std::move(d));
    }
    case ExprType::GetAttr:
      return get_attribute(eval(*e.a, scope), e.name);
    case ExprType::GetItem: {
      const Value object = eval(*e.a, scope);
      if (e.b->type == ExprType::Slice) {
        const Expr& s = *e.b;
        const auto bound = [&](const ExprPtr& p) { return p ? eval(*p, scope) : Value::none(); };
        return slice(object, bound(s.a), bound(s.b), bound(s.c));
      }
      return get_item(object, eval(*e.b, scope));
    }
    case ExprType::Slice:
      runtime_error("a slice is only allowed inside [ ]");
    case ExprType::Call: {
      const Value callee = eval(*e.a, scope);
      CallArgs args = eval_args(e.args, scope);
      return call(callee, args);
    }
    case ExprType::Filter:
      return eval_filter(e, scope, nullptr);
    case ExprType::Test:
      return eval_test(e, scope);
    case ExprType::Not:
      return !truthy(eval(*e.a, scope));
    case ExprType::Negate:
      return negate(eval(*e.a, scope));
    case ExprType::Plus:
      return plus(eval(*e.a, scope));
    case ExprType::Binary: {
      const Value a = eval(*e.a, scope);
      const Value b = eval(*e.b, scope);
      const Value r = binary(e.op, a, b, limits_.max_bytes);
      if (r.is_string()) charge_bytes(r.string().size());
      if (r.is_sequence()) charge(r.items().size());
      return r;
    }
    case ExprType::And: {
      Value a = eval(*e.a, scope);
      return truthy(a) ? eval(*e.b, scope) : a;
    }
    case ExprType::Or: {
      Value a = eval(*e.a, scope);
      return truthy(a) ? a : eval(*e.b, scope);
    }
    case ExprType::Concat: {
      std::string out;
      for (const ExprPtr& item : e.items) {
        const Value v = eval(*item, scope);
        out += to_string(v);
        check_size(out.size());
      }
      charge_bytes(out.size());
      return out;
    }
    case ExprType::Compare:
      return eval_compare(e, scope);
    case ExprType::Conditional:
      if (truthy(eval(*e.b, scope))) return eval(*e.a, scope);
      if (e.c) return eval(*e.c, scope);
      return Value::undefined("the inline if-expression evaluated to false and has no else section");
  }
  runtime_error("unknown expression");
}

}  // namespace vkgraph::jinja
