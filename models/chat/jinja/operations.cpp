// Python's operators and protocols on template values (see operations.h). Messages follow
// Python's TypeError wording so that a template author recognizes them.

#include "models/chat/jinja/operations.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/chat/jinja/error.h"
#include "models/chat/jinja/formatting.h"
#include "models/chat/jinja/methods.h"
#include "models/chat/jinja/text.h"

namespace vkgraph::jinja {

namespace {

std::string repr_at(const Value& v, int depth);

// repr() of a list of large strings could outgrow any template limit before the caller sees
// the result; it stops at four times the default limit on template strings (evaluator.h).
constexpr size_t kMaxReprBytes = size_t(64) << 20;

std::string join_reprs(const ValueList& items, int depth) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += repr_at(items[i], depth);
    if (out.size() > kMaxReprBytes) limit_error("the printed form of a list exceeds 64 MiB");
  }
  return out;
}

[[noreturn]] void unsupported(const char* op, const Value& a, const Value& b) {
  fail_undefined_if_any(a, b);
  runtime_error(fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b)));
}

void check_size(size_t bytes, size_t max_bytes) {
  if (bytes > max_bytes) {
    limit_error(fmt::format("a value of {} bytes exceeds the limit of {} bytes on template strings", bytes, max_bytes));
  }
}

[[noreturn]] void overflow() { runtime_error("integer overflow: the result does not fit in 64 bits"); }

int64_t checked_add(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) overflow();
  return r;
}
int64_t checked_sub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) overflow();
  return r;
}
int64_t checked_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) overflow();
  return r;
}

Value repeat(const Value& seq, int64_t times, size_t max_bytes) {
  if (times <= 0)
    return seq.is_string() ? Value(std::string()) : seq.kind() == Kind::Tuple ? Value::tuple({}) : Value::list({});
  if (seq.is_string()) {
    const std::string& s = seq.string();
    if (seq.is_markup()) return Value::markup(repeat(Value(s), times, max_bytes).string());
    check_size(s.empty()                                ? 0
               : uint64_t(times) > max_bytes / s.size() ? max_bytes + 1
                                                        : s.size() * size_t(times),
               max_bytes);
    std::string out;
    out.reserve(s.size() * size_t(times));
    for (int64_t i = 0; i < times; ++i) out += s;
    return out;
  }
  const ValueList& items = seq.items();
  // A list element costs at least a pointer's worth; bound lists like strings.
  check_size(items.empty() ? 0 : uint64_t(times) > max_bytes / (8 * items.size()) ? max_bytes + 1 : 0, max_bytes);
  ValueList out;
  out.reserve(items.size() * size_t(times));
  for (int64_t i = 0; i < times; ++i) out.insert(out.end(), items.begin(), items.end());
  return seq.kind() == Kind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

double float_mod(double a, double b) {
  double r = std::fmod(a, b);
  if (r != 0) {
    if ((b < 0) != (r < 0)) r += b;
  } else {
    r = std::copysign(0.0, b);
  }
  return r;
}

double float_floordiv(double a, double b) {
  const double mod = std::fmod(a, b);
  double div = (a - mod) / b;
  if (mod != 0 && ((b < 0) != (mod < 0))) div -= 1.0;
  if (div == 0) return std::copysign(0.0, a / b);
  double floor_div = std::floor(div);
  if (div - floor_div > 0.5) floor_div += 1.0;
  return floor_div;
}

Value int_pow(int64_t base, int64_t exponent) {
  int64_t result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = checked_mul(result, base);
    exponent >>= 1;
    if (exponent > 0) base = checked_mul(base, base);
  }
  return result;
}

int64_t normalize_index(int64_t index, int64_t size) { return index < 0 ? index + size : index; }

// Python's slice.indices(): the bounds of a slice over `size` elements.
void slice_bounds(int64_t size, const Value& start_v, const Value& stop_v, const Value& step_v, int64_t& start,
                  int64_t& stop, int64_t& step) {
  const auto as_int = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_none() || v.is_undefined()) return std::nullopt;
    if (!v.is_integral())
      runtime_error(fmt::format("slice {} must be an integer or None, not '{}'", what, type_name(v)));
    return v.integer();
  };
  step = as_int(step_v, "step").value_or(1);
  if (step == 0) runtime_error("slice step cannot be zero");
  const int64_t lower = step < 0 ? -1 : 0, upper = step < 0 ? size - 1 : size;
  const auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v;
    if (i < 0) {
      i += size;
      return i < lower ? lower : i;
    }
    return i > upper ? upper : i;
  };
  start = clamp(as_int(start_v, "indices"), step < 0 ? upper : lower);
  stop = clamp(as_int(stop_v, "indices"), step < 0 ? lower : upper);
}

}  // namespace

void fail_undefined(const Value& v) {
  const std::string& reason = v.undefined_reason();
  runtime_error(reason.empty() ? std::string("an undefined value was used") : reason);
}

void fail_undefined_if_any(const Value& a, const Value& b) {
  if (a.is_undefined()) fail_undefined(a);
  if (b.is_undefined()) fail_undefined(b);
}

std::string type_name(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
      return "Undefined";
    case Kind::None:
      return "NoneType";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Float:
      return "float";
    case Kind::String:
      return "str";
    case Kind::List:
      return "list";
    case Kind::Tuple:
      return "tuple";
    case Kind::Dict:
      return "dict";
    case Kind::Namespace:
      return "Namespace";
    case Kind::Object:
      return std::string(v.object().type_name());
    case Kind::Function:
      return "function";
    case Kind::Generator:
      return v.generator_type();
  }
  return "object";
}

std::string to_string(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
      return "";
    case Kind::String:
      return v.string();
    default:
      return repr(v);
  }
}

std::string repr(const Value& v) { return repr_at(v, 0); }

namespace {

// Namespaces may hold themselves, so printing counts its depth (lists and dicts alone are
// bounded by their nesting limit).
std::string repr_at(const Value& v, int depth) {
  if (depth > 400) limit_error("a value contains itself or nests too deeply to print");
  switch (v.kind()) {
    case Kind::Undefined:
      return "Undefined";
    case Kind::None:
      return "None";
    case Kind::Bool:
      return v.boolean() ? "True" : "False";
    case Kind::Int:
      return std::to_string(v.integer());
    case Kind::Float:
      return text::float_repr(v.real());
    case Kind::String:
      return v.is_markup() ? "Markup(" + text::repr(v.string()) + ")" : text::repr(v.string());
    case Kind::List:
      return "[" + join_reprs(v.items(), depth + 1) + "]";
    case Kind::Tuple:
      return "(" + join_reprs(v.items(), depth + 1) + (v.items().size() == 1 ? ",)" : ")");
    case Kind::Dict:
    case Kind::Namespace: {
      const Dict& d = v.is_dict() ? v.dict() : v.namespace_attributes();
      std::string out = "{";
      for (size_t i = 0; i < d.entries.size(); ++i) {
        if (i > 0) out += ", ";
        out += repr_at(d.entries[i].first, depth + 1) + ": " + repr_at(d.entries[i].second, depth + 1);
        if (out.size() > kMaxReprBytes) limit_error("the printed form of a dict exceeds 64 MiB");
      }
      out += "}";
      return v.is_dict() ? out : "<Namespace " + out + ">";
    }
    case Kind::Object:
      return v.object().repr();
    case Kind::Function:
      return "<function " + v.function().name + ">";
    case Kind::Generator:
      return "<" + v.generator_type() + " object>";
  }
  return "";
}

}  // namespace

bool truthy(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
    case Kind::None:
      return false;
    case Kind::Bool:
      return v.boolean();
    case Kind::Int:
      return v.integer() != 0;
    case Kind::Float:
      return v.real() != 0;
    case Kind::String:
      return !v.string().empty();
    case Kind::List:
    case Kind::Tuple:
      return !v.items().empty();
    case Kind::Dict:
      return !v.dict().entries.empty();
    default:
      return true;
  }
}

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.integer() == b.integer();
    return a.real() == b.real();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Kind::Undefined:
    case Kind::None:
      return true;
    case Kind::String:
      return a.string() == b.string();
    case Kind::List:
    case Kind::Tuple: {
      const ValueList &x = a.items(), &y = b.items();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!equals(x[i], y[i])) return false;
      }
      return true;
    }
    case Kind::Dict: {
      const Dict &x = a.dict(), &y = b.dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.find(k);
        if (other == nullptr || !equals(v, *other)) return false;
      }
      return true;
    }
    case Kind::Namespace:
      return &a.namespace_attributes() == &b.namespace_attributes();
    case Kind::Object:
      return &a.object() == &b.object();
    case Kind::Function:
      return &a.function() == &b.function();
    case Kind::Generator:
      return &a.generator_type() == &b.generator_type();
    default:
      return false;
  }
}

bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_integral() && b.is_integral()) return a.integer() < b.integer();
    return a.real() < b.real();
  }
  if (a.is_string() && b.is_string()) return a.string() < b.string();  // UTF-8 orders as code points
  if (a.kind() == b.kind() && a.is_sequence()) {
    const ValueList &x = a.items(), &y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  fail_undefined_if_any(a, b);
  runtime_error(fmt::format("'<' not supported between instances of '{}' and '{}'", type_name(a), type_name(b)));
}

Value binary(BinaryOp op, const Value& a, const Value& b, size_t max_bytes) {
  const bool ints = a.is_integral() && b.is_integral();
  const bool numbers = a.is_number() && b.is_number();
  switch (op) {
    case BinaryOp::Add:
      if (ints) return checked_add(a.integer(), b.integer());
      if (numbers) return a.real() + b.real();
      if (a.is_string() && b.is_string()) {
        check_size(a.string().size() + b.string().size(), max_bytes);
        // Markup + text escapes the text (and text + Markup: Python asks Markup first).
        if (a.is_markup() || b.is_markup()) {
          return Value::markup((a.is_markup() ? a.string() : text::html_escape(a.string())) +
                               (b.is_markup() ? b.string() : text::html_escape(b.string())));
        }
        return a.string() + b.string();
      }
      if (a.is_sequence() && a.kind() == b.kind()) {
        check_size(8 * (a.items().size() + b.items().size()), max_bytes);
        ValueList out = a.items();
        out.insert(out.end(), b.items().begin(), b.items().end());
        return a.kind() == Kind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
      }
      if (a.is_string() && !b.is_undefined()) {
        runtime_error(fmt::format("can only concatenate str (not \"{}\") to str", type_name(b)));
      }
      unsupported("+", a, b);
    case BinaryOp::Sub:
      if (ints) return checked_sub(a.integer(), b.integer());
      if (numbers) return a.real() - b.real();
      unsupported("-", a, b);
    case BinaryOp::Mul:
      if (ints) return checked_mul(a.integer(), b.integer());
      if (numbers) return a.real() * b.real();
      if ((a.is_string() || a.is_sequence()) && b.is_integral()) return repeat(a, b.integer(), max_bytes);
      if (a.is_integral() && (b.is_string() || b.is_sequence())) return repeat(b, a.integer(), max_bytes);
      unsupported("*", a, b);
    case BinaryOp::Div:
      if (numbers) {
        if (b.real() == 0) runtime_error("division by zero");
        return a.real() / b.real();
      }
      unsupported("/", a, b);
    case BinaryOp::FloorDiv:
      if (ints) {
        if (b.integer() == 0) runtime_error("integer division or modulo by zero");
        if (a.integer() == INT64_MIN && b.integer() == -1) overflow();
        int64_t q = a.integer() / b.integer();
        if ((a.integer() % b.integer() != 0) && ((a.integer() < 0) != (b.integer() < 0))) --q;
        return q;
      }
      if (numbers) {
        if (b.real() == 0) runtime_error("float floor division by zero");
        return float_floordiv(a.real(), b.real());
      }
      unsupported("//", a, b);
    case BinaryOp::Mod:
      if (ints) {
        if (b.integer() == 0) runtime_error("integer division or modulo by zero");
        if (b.integer() == -1) return int64_t(0);
        int64_t m = a.integer() % b.integer();
        if (m != 0 && ((m < 0) != (b.integer() < 0))) m += b.integer();
        return m;
      }
      if (numbers) {
        if (b.real() == 0) runtime_error("float modulo");
        return float_mod(a.real(), b.real());
      }
      if (a.is_markup()) return Value::markup(percent_format(a.string(), b, max_bytes, true));
      if (a.is_string()) return percent_format(a.string(), b, max_bytes, false);
      unsupported("%", a, b);
    case BinaryOp::Pow:
      if (ints && b.integer() >= 0) return int_pow(a.integer(), b.integer());
      if (numbers) {
        if (a.real() == 0 && b.real() < 0) runtime_error("0.0 cannot be raised to a negative power");
        if (a.real() < 0 && b.real() != std::floor(b.real())) {
          runtime_error("a negative number raised to a fractional power is complex, which templates do not have");
        }
        return std::pow(a.real(), b.real());
      }
      unsupported("** or pow()", a, b);
  }
  runtime_error("unknown operator");
}

Value negate(const Value& v) {
  if (v.is_integral()) {
    if (v.integer() == INT64_MIN) overflow();
    return -v.integer();
  }
  if (v.is_float()) return -v.real();
  if (v.is_undefined()) fail_undefined(v);
  runtime_error(fmt::format("bad operand type for unary -: '{}'", type_name(v)));
}

Value plus(const Value& v) {
  if (v.is_integral()) return v.integer();
  if (v.is_float()) return v;
  if (v.is_undefined()) fail_undefined(v);
  runtime_error(fmt::format("bad operand type for unary +: '{}'", type_name(v)));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Kind::Undefined:
      return false;
    case Kind::String:
      if (!item.is_string()) {
        if (item.is_undefined()) fail_undefined(item);
        runtime_error(fmt::format("'in <string>' requires string as left operand, not {}", type_name(item)));
      }
      return container.string().find(item.string()) != std::string::npos;
    case Kind::List:
    case Kind::Tuple:
      return std::any_of(container.items().begin(), container.items().end(),
                         [&](const Value& x) { return equals(x, item); });
    case Kind::Dict:
      return container.dict().find(item) != nullptr;
    case Kind::Generator:  // consumes the items up to the one found, as Python does
      while (std::optional<Value> next = container.take_next()) {
        if (equals(*next, item)) return true;
      }
      return false;
    default:
      runtime_error(fmt::format("argument of type '{}' is not iterable", type_name(container)));
  }
}

int64_t length(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
      return 0;
    case Kind::String:
      return int64_t(text::length(v.string()));
    case Kind::List:
    case Kind::Tuple:
      return int64_t(v.items().size());
    case Kind::Dict:
      return int64_t(v.dict().entries.size());
    default:
      runtime_error(fmt::format("object of type '{}' has no len()", type_name(v)));
  }
}

ValueList iterate(const Value& v) {
  switch (v.kind()) {
    case Kind::Undefined:
      return {};
    case Kind::String: {
      ValueList out;
      const std::string& s = v.string();
      for (size_t pos = 0, n = 0; pos < s.size(); pos += n) {
        text::decode_at(s, pos, n);
        out.emplace_back(s.substr(pos, n));
      }
      return out;
    }
    case Kind::List:
    case Kind::Tuple:
      return v.items();
    case Kind::Dict: {
      ValueList keys;
      for (const auto& entry : v.dict().entries) keys.push_back(entry.first);
      return keys;
    }
    case Kind::Generator:
      return v.take_remaining();
    default:
      runtime_error(fmt::format("'{}' object is not iterable", type_name(v)));
  }
}

Value get_attribute(const Value& object, std::string_view name) {
  switch (object.kind()) {
    case Kind::Undefined:
      fail_undefined(object);
    case Kind::Namespace: {
      if (const Value* v = object.namespace_attributes().find(name)) return *v;
      break;
    }
    case Kind::Object:
      return object.object().attribute(name);
    default: {
      if (std::optional<Value> method = bound_method(object, name)) return *method;
      if (object.is_dict()) {
        if (const Value* v = object.dict().find(name)) return *v;
      }
      break;
    }
  }
  return Value::undefined(fmt::format("'{}' object has no attribute '{}'", type_name(object), name));
}

Value get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Kind::Undefined:
      fail_undefined(object);
    case Kind::Dict:
      if (const Value* v = object.dict().find(key)) return *v;
      break;
    case Kind::List:
    case Kind::Tuple:
      if (key.is_integral()) {
        const ValueList& items = object.items();
        const int64_t i = normalize_index(key.integer(), int64_t(items.size()));
        if (i >= 0 && i < int64_t(items.size())) return items[size_t(i)];
      }
      break;
    case Kind::String:
      if (key.is_integral()) {
        const std::string& s = object.string();
        const std::vector<size_t> at = text::offsets(s);
        const int64_t i = normalize_index(key.integer(), int64_t(at.size()) - 1);
        if (i >= 0 && i + 1 < int64_t(at.size())) {
          std::string c = s.substr(at[size_t(i)], at[size_t(i) + 1] - at[size_t(i)]);
          return object.is_markup() ? Value::markup(std::move(c)) : Value(std::move(c));
        }
      }
      break;
    default:
      break;
  }
  if (key.is_string()) return get_attribute(object, key.string());
  return Value::undefined(fmt::format("'{}' object has no element {}", type_name(object), repr(key)));
}

Value slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v) {
  if (object.is_undefined()) fail_undefined(object);
  if (object.is_generator()) return Value::undefined("a generator cannot be sliced");
  if (object.is_markup()) return Value::markup(slice(Value(object.string()), start_v, stop_v, step_v).string());
  if (!object.is_string() && !object.is_sequence()) {
    runtime_error(fmt::format("'{}' object is not subscriptable", type_name(object)));
  }
  const bool is_str = object.is_string();
  std::vector<size_t> at;
  if (is_str) at = text::offsets(object.string());
  const int64_t size = is_str ? int64_t(at.size()) - 1 : int64_t(object.items().size());
  int64_t start = 0, stop = 0, step = 1;
  slice_bounds(size, start_v, stop_v, step_v, start, stop, step);
  if (is_str) {
    const std::string& s = object.string();
    if (step == 1) return start < stop ? s.substr(at[size_t(start)], at[size_t(stop)] - at[size_t(start)]) : "";
    std::string out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
      out.append(s, at[size_t(i)], at[size_t(i) + 1] - at[size_t(i)]);
    }
    return out;
  }
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(object.items()[size_t(i)]);
  return object.kind() == Kind::Tuple ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

}  // namespace vkgraph::jinja
