#include "models/chat/jinja/value.h"

#include <algorithm>

#include "models/chat/jinja/error.h"
#include "models/chat/jinja/operations.h"

namespace vkgraph::jinja {

namespace {

struct ListData {
  ValueList items;
  int nesting;
};

struct DictData {
  Dict dict;
  int nesting;
};

// Values nest at most this deep. Recursive work on a value (printing it, comparing it, freeing
// it) then stays within a bounded stack, however a template builds it.
constexpr int kMaxNesting = 200;

int nesting_of(const ValueList& items) {
  int n = 0;
  for (const Value& v : items) n = std::max(n, v.nesting());
  if (n + 1 > kMaxNesting) limit_error("a list or dict nests deeper than 200 levels");
  return n + 1;
}

struct GeneratorData {
  ValueList items;
  size_t position;
  std::string type;
  int nesting;
};

const std::string& empty_string() {
  static const std::string empty;
  return empty;
}

}  // namespace

Value Object::attribute(std::string_view name) const {
  return Value::undefined("'" + std::string(type_name()) + "' object has no attribute '" + std::string(name) + "'");
}

Value Value::undefined(std::string reason) {
  Value v;
  v.ptr_ = std::make_shared<const std::string>(std::move(reason));
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = Kind::None;
  return v;
}

Value::Value(std::string s) : kind_(Kind::String), ptr_(std::make_shared<const std::string>(std::move(s))) {}

Value Value::markup(std::string s) {
  Value v(std::move(s));
  v.markup_ = true;
  return v;
}

Value Value::generator(ValueList items, std::string type) {
  Value v;
  v.kind_ = Kind::Generator;
  const int nesting = nesting_of(items);
  v.ptr_ = std::make_shared<GeneratorData>(GeneratorData{std::move(items), 0, std::move(type), nesting});
  return v;
}

ValueList Value::take_remaining() const {
  auto* g = const_cast<GeneratorData*>(static_cast<const GeneratorData*>(ptr_.get()));
  ValueList rest(g->items.begin() + std::ptrdiff_t(g->position), g->items.end());
  g->position = g->items.size();
  return rest;
}

std::optional<Value> Value::take_next() const {
  auto* g = const_cast<GeneratorData*>(static_cast<const GeneratorData*>(ptr_.get()));
  if (g->position >= g->items.size()) return std::nullopt;
  return g->items[g->position++];
}

const std::string& Value::generator_type() const { return static_cast<const GeneratorData*>(ptr_.get())->type; }

Value Value::list(ValueList items) {
  Value v;
  v.kind_ = Kind::List;
  const int nesting = nesting_of(items);
  v.ptr_ = std::make_shared<const ListData>(ListData{std::move(items), nesting});
  return v;
}

Value Value::tuple(ValueList items) {
  Value v = list(std::move(items));
  v.kind_ = Kind::Tuple;
  return v;
}

Value Value::dict(Dict entries) {
  Value v;
  v.kind_ = Kind::Dict;
  int n = 0;
  for (const auto& [key, value] : entries.entries) n = std::max({n, key.nesting(), value.nesting()});
  if (n + 1 > kMaxNesting) limit_error("a list or dict nests deeper than 200 levels");
  v.ptr_ = std::make_shared<const DictData>(DictData{std::move(entries), n + 1});
  return v;
}

Value Value::new_namespace(Dict attributes) {
  Value v;
  v.kind_ = Kind::Namespace;
  v.ptr_ = std::make_shared<Dict>(std::move(attributes));
  return v;
}

Value Value::object(std::shared_ptr<const Object> object) {
  Value v;
  v.kind_ = Kind::Object;
  v.ptr_ = std::move(object);
  return v;
}

Value Value::function(std::string name, std::function<Value(Evaluator&, CallArgs&)> call) {
  Value v;
  v.kind_ = Kind::Function;
  v.ptr_ = std::make_shared<const Function>(Function{std::move(name), std::move(call)});
  return v;
}

const std::string& Value::string() const { return *static_cast<const std::string*>(ptr_.get()); }

const ValueList& Value::items() const { return static_cast<const ListData*>(ptr_.get())->items; }

const Dict& Value::dict() const { return static_cast<const DictData*>(ptr_.get())->dict; }

int Value::nesting() const {
  switch (kind_) {
    case Kind::List:
    case Kind::Tuple:
      return static_cast<const ListData*>(ptr_.get())->nesting;
    case Kind::Dict:
      return static_cast<const DictData*>(ptr_.get())->nesting;
    case Kind::Generator:
      return static_cast<const GeneratorData*>(ptr_.get())->nesting;
    default:
      return 0;
  }
}

Dict& Value::namespace_attributes() const {
  // Namespaces are created mutable (new_namespace); only their storage is held as const void.
  return *const_cast<Dict*>(static_cast<const Dict*>(ptr_.get()));
}

std::weak_ptr<Dict> Value::namespace_handle() const {
  return std::static_pointer_cast<Dict>(std::const_pointer_cast<void>(ptr_));
}

const Object& Value::object() const { return *static_cast<const Object*>(ptr_.get()); }

const Function& Value::function() const { return *static_cast<const Function*>(ptr_.get()); }

const std::string& Value::undefined_reason() const {
  return ptr_ ? *static_cast<const std::string*>(ptr_.get()) : empty_string();
}

const Value* Dict::find(const Value& key) const {
  for (const auto& [k, v] : entries) {
    if (equals(k, key)) return &v;
  }
  return nullptr;
}

const Value* Dict::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k.is_string() && k.string() == key) return &v;
  }
  return nullptr;
}

void Dict::set(Value key, Value value) {
  for (auto& [k, v] : entries) {
    if (equals(k, key)) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(std::move(key), std::move(value));
}

}  // namespace vkgraph::jinja
