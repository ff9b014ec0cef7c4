#pragma once
// The values a Jinja template works with: Python's types as Jinja2 hands them to a template (None,
// bool, int, float, str, list, tuple, dict), Jinja's undefined, namespaces, host objects (the
// `loop` variable) and callables (macros, globals, bound methods). Lists and dicts never change
// once built: Hugging Face renders chat templates in Jinja2's immutable sandbox, where
// `list.append` and friends are refused, so sharing them between copies is safe. A namespace is
// the one mutable object (`{% set ns.x = ... %}`), shared by every copy as in Python.
//
// Two Python behaviours templates can observe are kept: the generators that map(), select() and
// friends return (truthy even when empty, consumed by the first loop over them, refused by
// tojson and length), and markupsafe's Markup that the `safe` filter makes (adding plain text to
// it HTML-escapes that text).
//
// Strings are UTF-8; where Python counts characters (len, indexing, slicing) the code counts code
// points (text.h). Integers are 64-bit: an operation that would leave that range is an error,
// where Python would grow the number.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vkgraph::jinja {

class Value;
class Evaluator;
struct Dict;
using ValueList = std::vector<Value>;

enum class Kind : uint8_t {
  Undefined,
  None,
  Bool,
  Int,
  Float,
  String,
  List,
  Tuple,
  Dict,
  Namespace,
  Object,
  Function,
  Generator,  // what Jinja2's map, select, items... return: iterable once, no len(), not JSON
};

// Arguments of a call: positional, then keyword (in the order written).
struct CallArgs {
  ValueList positional;
  std::vector<std::pair<std::string, Value>> keywords;
};

struct Function {
  std::string name;
  std::function<Value(Evaluator&, CallArgs&)> call;
};

// A host object: read-only attributes by name (the loop variable).
class Object {
 public:
  virtual ~Object() = default;
  virtual std::string_view type_name() const = 0;
  virtual Value attribute(std::string_view name) const;  // undefined when absent
  virtual std::string repr() const = 0;
};

class Value {
 public:
  Value() = default;  // undefined, with no reason recorded
  // An undefined value that remembers why it is undefined ("'x' is undefined"), for the error
  // raised when a template uses it in a way Jinja's Undefined refuses.
  static Value undefined(std::string reason);
  static Value none();
  Value(bool b) : kind_(Kind::Bool), b_(b) {}           // NOLINT(google-explicit-constructor)
  Value(int64_t i) : kind_(Kind::Int), i_(i) {}         // NOLINT(google-explicit-constructor)
  Value(int i) : kind_(Kind::Int), i_(i) {}             // NOLINT(google-explicit-constructor)
  Value(double f) : kind_(Kind::Float), f_(f) {}        // NOLINT(google-explicit-constructor)
  Value(std::string s);                                 // NOLINT(google-explicit-constructor)
  Value(std::string_view s) : Value(std::string(s)) {}  // NOLINT(google-explicit-constructor)
  Value(const char* s) : Value(std::string(s)) {}       // NOLINT(google-explicit-constructor)
  static Value markup(std::string s);                   // a string the `safe` filter marked
  static Value list(ValueList items);
  static Value tuple(ValueList items);
  static Value dict(Dict entries);
  static Value new_namespace(Dict attributes);
  static Value object(std::shared_ptr<const Object> object);
  static Value function(std::string name, std::function<Value(Evaluator&, CallArgs&)> call);
  // `type` is Python's name for it ("generator", "list_reverseiterator").
  static Value generator(ValueList items, std::string type = "generator");

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::Undefined; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_bool() const { return kind_ == Kind::Bool; }
  bool is_int() const { return kind_ == Kind::Int; }
  bool is_float() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ == Kind::Int || kind_ == Kind::Bool; }  // Python: bool is an int
  bool is_number() const { return is_integral() || kind_ == Kind::Float; }
  bool is_string() const { return kind_ == Kind::String; }
  bool is_sequence() const { return kind_ == Kind::List || kind_ == Kind::Tuple; }
  bool is_dict() const { return kind_ == Kind::Dict; }
  bool is_namespace() const { return kind_ == Kind::Namespace; }
  bool is_object() const { return kind_ == Kind::Object; }
  bool is_function() const { return kind_ == Kind::Function; }
  bool is_generator() const { return kind_ == Kind::Generator; }
  bool is_markup() const { return kind_ == Kind::String && markup_; }

  bool boolean() const { return b_; }
  int64_t integer() const { return kind_ == Kind::Bool ? int64_t(b_) : i_; }  // Int or Bool
  double real() const { return kind_ == Kind::Float ? f_ : double(integer()); }
  const std::string& string() const;
  const ValueList& items() const;  // List or Tuple
  const Dict& dict() const;
  Dict& namespace_attributes() const;  // Namespace: shared and mutable
  const Object& object() const;
  const Function& function() const;
  // A generator's items from its current position on; taking them (all, or one) consumes them.
  ValueList take_remaining() const;
  std::optional<Value> take_next() const;
  const std::string& generator_type() const;
  const std::string& undefined_reason() const;
  // How deeply lists and dicts nest inside this value (0 for anything else). Building a value
  // nested deeper than 200 levels is a Limit error: everything that walks a value recursively
  // (printing, comparing, freeing) relies on that bound.
  int nesting() const;
  // A namespace can come to hold itself (directly, or through a macro whose scope holds it); the
  // evaluator empties the namespaces it created after a run, through this handle, to free them.
  std::weak_ptr<Dict> namespace_handle() const;

 private:
  Kind kind_ = Kind::Undefined;
  bool markup_ = false;
  union {
    bool b_;
    int64_t i_;
    double f_ = 0;
  };
  std::shared_ptr<const void> ptr_;  // the string, list, dict, namespace, object, function or reason
};

// An insertion-ordered mapping, as Python's dict. Keys compare as Python compares them (1 and
// 1.0 and True are one key). Lookups are linear: template dicts are small (a message, a tool
// schema), and none grows while a template runs.
struct Dict {
  std::vector<std::pair<Value, Value>> entries;

  const Value* find(const Value& key) const;
  const Value* find(std::string_view key) const;
  void set(Value key, Value value);  // replaces the value of an existing key, keeping its place
};

}  // namespace vkgraph::jinja
