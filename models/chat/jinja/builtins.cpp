// Jinja2's filters (filters.py), tests (tests.py) and globals (defaults.py), restated for the
// value types here. Where Jinja2 returns a generator (map, select, items...) these return a list:
// the same items, where a template iterates, joins, counts or converts them.

#include "models/chat/jinja/builtins.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <initializer_list>

#include <fmt/format.h>

#include "models/chat/jinja/error.h"
#include "models/chat/jinja/evaluator.h"
#include "models/chat/jinja/formatting.h"
#include "models/chat/jinja/json.h"
#include "models/chat/jinja/methods.h"
#include "models/chat/jinja/operations.h"
#include "models/chat/jinja/text.h"

namespace vkgraph::jinja {

ArgReader::ArgReader(std::string_view function, const CallArgs& args, std::initializer_list<std::string_view> names)
    : bound_(names.size(), nullptr) {
  if (args.positional.size() > names.size()) {
    runtime_error(
        fmt::format("{}() takes at most {} argument(s) ({} given)", function, names.size(), args.positional.size()));
  }
  for (size_t i = 0; i < args.positional.size(); ++i) bound_[i] = &args.positional[i];
  for (const auto& [key, value] : args.keywords) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) runtime_error(fmt::format("{}() got an unexpected keyword argument '{}'", function, key));
    const size_t i = size_t(it - names.begin());
    if (bound_[i] != nullptr) runtime_error(fmt::format("{}() got multiple values for argument '{}'", function, key));
    bound_[i] = &value;
  }
}

const Value* ArgReader::get(size_t index) const { return index < bound_.size() ? bound_[index] : nullptr; }

Value ArgReader::get_or(size_t index, Value fallback) const {
  const Value* v = get(index);
  return v != nullptr ? *v : std::move(fallback);
}

ValueList filter_items(const Value& v) { return iterate(v); }

Value lookup_path(const Value& item, const Value& attribute) {
  if (attribute.is_none() || attribute.is_undefined()) return item;
  if (!attribute.is_string()) return get_item(item, attribute);
  Value v = item;
  for (const std::string& part : text::split(attribute.string(), std::string_view("."), -1)) {
    const bool digits =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    v = get_item(v, digits && part.size() < 18 ? Value(int64_t(std::stoll(part))) : Value(part));
  }
  return v;
}

namespace {

// ---- helpers ----

std::string text_of(const Value& v) { return to_string(v); }  // Jinja's soft_str

int64_t int_arg(const Value* v, int64_t fallback, const char* what) {
  if (v == nullptr || v->is_none()) return fallback;
  if (!v->is_integral()) runtime_error(fmt::format("{} must be an integer, not '{}'", what, type_name(*v)));
  return v->integer();
}

bool bool_arg(const Value* v, bool fallback) { return v == nullptr ? fallback : truthy(*v); }

// Markup in, Markup out: the filters that keep markupsafe's type (through str methods).
Value keep_markup(const Value& input, std::string result) {
  return input.is_markup() ? Value::markup(std::move(result)) : Value(std::move(result));
}

Value ignore_case(const Value& v) { return v.is_string() ? Value(text::lower(v.string())) : v; }

// Items sorted by a key, as Python's sorted(..., key=..., reverse=...): stable either way.
ValueList sorted_by(ValueList items, const std::function<Value(const Value&)>& key, bool reverse) {
  std::vector<std::pair<Value, Value>> keyed;
  keyed.reserve(items.size());
  for (Value& item : items) keyed.emplace_back(key(item), std::move(item));
  std::stable_sort(keyed.begin(), keyed.end(), [reverse](const auto& a, const auto& b) {
    return reverse ? less(b.first, a.first) : less(a.first, b.first);
  });
  ValueList out;
  for (auto& [k, item] : keyed) out.push_back(std::move(item));
  return out;
}

// ---- filters ----

Value f_abs(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("abs", args, {});
  if (v.is_integral()) {
    if (v.integer() == INT64_MIN) runtime_error("integer overflow: the result does not fit in 64 bits");
    return std::abs(v.integer());
  }
  if (v.is_float()) return std::fabs(v.real());
  runtime_error(fmt::format("bad operand type for abs(): '{}'", type_name(v)));
}

Value f_attr(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("attr", args, {"name"});
  const Value name = a.get_or(0, Value());
  if (!name.is_string()) runtime_error("attr() needs an attribute name");
  if (v.is_dict()) {  // attributes of a dict are its methods only, never its items
    const Value m = get_attribute(v, name.string());
    return m.is_function() ? m : Value::undefined(fmt::format("'dict object' has no attribute '{}'", name.string()));
  }
  return get_attribute(v, name.string());
}

Value f_batch(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("batch", args, {"linecount", "fill_with"});
  const int64_t n = int_arg(a.get(0), 0, "linecount");
  if (n <= 0) runtime_error("batch() needs a positive line count");
  const Value fill = a.get_or(1, Value::none());
  ValueList out, row;
  for (Value& item : filter_items(v)) {
    if (int64_t(row.size()) == n) {
      out.push_back(Value::list(std::move(row)));
      row.clear();
    }
    row.push_back(std::move(item));
  }
  if (!row.empty()) {
    if (!fill.is_none()) {
      while (int64_t(row.size()) < n) row.push_back(fill);
    }
    out.push_back(Value::list(std::move(row)));
  }
  return Value::generator(std::move(out));
}

Value f_capitalize(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("capitalize", args, {});
  return keep_markup(v, text::capitalize(text_of(v)));
}

Value f_center(Evaluator& ev, const Value& v, CallArgs& args) {
  const ArgReader a("center", args, {"width"});
  const int64_t width = int_arg(a.get(0), 80, "width");
  ev.check_size(size_t(std::max<int64_t>(width, 0)));
  const std::string s = text_of(v);
  const int64_t len = int64_t(text::length(s));
  if (width <= len) return v.is_string() ? v : Value(s);
  // Python's str.center puts the extra space on the right when the padding is odd, except
  // when the string's length is odd as well.
  const int64_t pad = width - len;
  const int64_t left = pad / 2 + (pad & width & 1);
  return keep_markup(v, std::string(size_t(left), ' ') + s + std::string(size_t(pad - left), ' '));
}

Value f_count(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("count", args, {});
  return length(v);
}

Value f_default(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("default", args, {"default_value", "boolean"});
  if (v.is_undefined() || (bool_arg(a.get(1), false) && !truthy(v))) return a.get_or(0, Value(std::string()));
  return v;
}

Value f_dictsort(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("dictsort", args, {"case_sensitive", "by", "reverse"});
  if (!v.is_dict()) runtime_error(fmt::format("dictsort() needs a dict, not '{}'", type_name(v)));
  const bool case_sensitive = bool_arg(a.get(0), false);
  const Value by = a.get_or(1, Value("key"));
  if (!by.is_string() || (by.string() != "key" && by.string() != "value")) {
    runtime_error("You can only sort by either \"key\" or \"value\"");
  }
  const size_t pos = by.string() == "key" ? 0 : 1;
  ValueList items;
  for (const auto& [k, val] : v.dict().entries) items.push_back(Value::tuple({k, val}));
  return Value::list(sorted_by(
      std::move(items),
      [&](const Value& item) {
        const Value& key = item.items()[pos];
        return case_sensitive ? key : ignore_case(key);
      },
      bool_arg(a.get(2), false)));
}

Value f_first(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("first", args, {});
  if (v.is_sequence()) {
    return v.items().empty() ? Value::undefined("No first item, sequence was empty.") : v.items().front();
  }
  if (v.is_generator()) {  // takes one item, as next(iter(...)) does
    std::optional<Value> next = v.take_next();
    return next ? *next : Value::undefined("No first item, sequence was empty.");
  }
  const ValueList items = filter_items(v);
  return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
}

Value f_last(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("last", args, {});
  if (v.is_generator()) runtime_error(fmt::format("'{}' object is not reversible", v.generator_type()));
  const ValueList items = filter_items(v);
  return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
}

// Python's float(str): an optional sign, digits with an optional point and exponent, inf, nan.
std::optional<double> parse_float(std::string_view s) {
  const std::string t(text::strip(s, std::nullopt, true, true));
  if (t.empty()) return std::nullopt;
  std::string lowered = text::lower(t);
  std::string_view body = lowered;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.remove_prefix(1);
  if (body == "inf" || body == "infinity" || body == "nan") {
    const double x = body == "nan" ? std::nan("") : INFINITY;
    return lowered[0] == '-' ? -x : x;
  }
  std::string clean;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '_' && i > 0 && i + 1 < t.size() && std::isdigit(uint8_t(t[i - 1])) &&
        std::isdigit(uint8_t(t[i + 1]))) {
      continue;
    }
    clean += t[i];
  }
  if (clean.find_first_not_of("0123456789+-.eE") != std::string::npos) return std::nullopt;
  char* end = nullptr;
  const double x = std::strtod(clean.c_str(), &end);
  if (end != clean.c_str() + clean.size()) return std::nullopt;
  return x;
}

// Python's int(str, base): optional sign, digits (prefix 0x/0o/0b when base 16/8/2 or 0), '_'.
std::optional<int64_t> parse_int(std::string_view s, int64_t base) {
  std::string t(text::strip(s, std::nullopt, true, true));
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.erase(0, 1);
  }
  if (t.size() > 1 && t[0] == '0') {
    const char p = char(std::tolower(uint8_t(t[1])));
    const int64_t prefixed = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (prefixed != 0 && (base == prefixed || base == 0)) {
      t.erase(0, 2);
      if (!t.empty() && t[0] == '_') t.erase(0, 1);
      base = prefixed;
    }
  }
  if (base == 0) base = 10;
  if (t.empty() || t.front() == '_' || t.back() == '_' || t.find("__") != std::string::npos) return std::nullopt;
  t.erase(std::remove(t.begin(), t.end(), '_'), t.end());
  int64_t v = 0;
  for (char c : t) {
    const int d = std::isdigit(uint8_t(c))   ? c - '0'
                  : std::isalpha(uint8_t(c)) ? std::tolower(uint8_t(c)) - 'a' + 10
                                             : 99;
    if (d >= base) return std::nullopt;
    if (__builtin_mul_overflow(v, base, &v) || __builtin_add_overflow(v, d, &v)) return std::nullopt;
  }
  return negative ? -v : v;
}

Value f_float(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("float", args, {"default"});
  if (v.is_number()) return v.real();
  if (v.is_string()) {
    if (const std::optional<double> x = parse_float(v.string())) return *x;
  }
  return a.get_or(0, Value(0.0));
}

Value f_format(Evaluator& ev, const Value& v, CallArgs& args) {
  if (!args.positional.empty() && !args.keywords.empty()) {
    runtime_error("can't handle positional and keyword arguments at the same time");
  }
  if (!args.keywords.empty()) {
    Dict d;
    for (const auto& [k, val] : args.keywords) d.set(Value(k), val);
    return binary(BinaryOp::Mod, v.is_string() ? v : Value(text_of(v)), Value::dict(std::move(d)), ev.max_bytes());
  }
  return binary(BinaryOp::Mod, v.is_string() ? v : Value(text_of(v)), Value::tuple(args.positional), ev.max_bytes());
}

Value f_groupby(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("groupby", args, {"attribute", "default", "case_sensitive"});
  const Value attribute = a.get_or(0, Value::none());
  const Value fallback = a.get_or(1, Value::none());
  const bool case_sensitive = bool_arg(a.get(2), false);
  const auto key_of = [&](const Value& item) {
    Value k = lookup_path(item, attribute);
    if (k.is_undefined() && !fallback.is_none()) k = fallback;
    return case_sensitive ? k : ignore_case(k);
  };
  const ValueList items = sorted_by(filter_items(v), key_of, false);
  ValueList groups;
  for (size_t i = 0; i < items.size();) {
    const Value key = key_of(items[i]);
    ValueList members;
    size_t j = i;
    for (; j < items.size() && equals(key_of(items[j]), key); ++j) members.push_back(items[j]);
    const Value shown = case_sensitive ? key : lookup_path(items[i], attribute);
    groups.push_back(Value::tuple({shown.is_undefined() ? fallback : shown, Value::list(std::move(members))}));
    i = j;
  }
  return Value::list(std::move(groups));
}

Value f_indent(Evaluator& ev, const Value& v, CallArgs& args) {
  const ArgReader a("indent", args, {"width", "first", "blank"});
  const Value width = a.get_or(0, Value(int64_t(4)));
  std::string indention;
  if (width.is_string()) {
    indention = width.string();
  } else {
    const int64_t n = int_arg(&width, 4, "width");
    ev.check_size(size_t(std::max<int64_t>(n, 0)));
    indention.assign(size_t(std::max<int64_t>(n, 0)), ' ');
  }
  const std::string s = text_of(v) + "\n";  // as Jinja2 does, so that splitlines keeps a last empty line
  const std::vector<std::string> lines = text::splitlines(s, false);
  std::string out;
  if (bool_arg(a.get(2), false)) {
    for (size_t i = 0; i < lines.size(); ++i) out += (i > 0 ? "\n" + indention : "") + lines[i];
  } else {
    for (size_t i = 0; i < lines.size(); ++i) {
      if (i > 0) out += "\n" + (lines[i].empty() ? "" : indention);
      out += lines[i];
      ev.check_size(out.size());
    }
  }
  if (bool_arg(a.get(1), false)) out = indention + out;
  ev.check_size(out.size());
  return keep_markup(v, std::move(out));
}

Value f_int(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("int", args, {"default", "base"});
  const Value fallback = a.get_or(0, Value(int64_t(0)));
  if (v.is_integral()) return v.integer();
  if (v.is_float()) {
    if (!std::isfinite(v.real()) || std::fabs(v.real()) >= 9.2e18) return fallback;
    return int64_t(v.real());
  }
  if (v.is_string()) {
    if (const std::optional<int64_t> i = parse_int(v.string(), int_arg(a.get(1), 10, "base"))) return *i;
    // "42.23"|int is 42: Jinja2 tries float() when int() fails.
    if (const std::optional<double> x = parse_float(v.string()); x && std::isfinite(*x) && std::fabs(*x) < 9.2e18) {
      return int64_t(*x);
    }
  }
  return fallback;
}

Value f_items(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("items", args, {});
  if (v.is_undefined()) return Value::generator({});
  if (!v.is_dict()) runtime_error("Can only get item pairs from a mapping.");
  ValueList out;
  for (const auto& [k, val] : v.dict().entries) out.push_back(Value::tuple({k, val}));
  return Value::generator(std::move(out));
}

Value f_join(Evaluator& ev, const Value& v, CallArgs& args) {
  const ArgReader a("join", args, {"d", "attribute"});
  const std::string sep = text_of(a.get_or(0, Value(std::string())));
  const Value attribute = a.get_or(1, Value::none());
  std::string out;
  bool first = true;
  for (const Value& item : filter_items(v)) {
    if (!first) out += sep;
    first = false;
    out += to_string(attribute.is_none() ? item : lookup_path(item, attribute));
    ev.check_size(out.size());
  }
  return out;
}

Value f_length(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("length", args, {});
  return length(v);
}

Value f_list(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("list", args, {});
  return Value::list(filter_items(v));
}

Value f_lower(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("lower", args, {});
  return keep_markup(v, text::lower(text_of(v)));
}

Value f_upper(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("upper", args, {});
  return keep_markup(v, text::upper(text_of(v)));
}

Value f_map(Evaluator& ev, const Value& v, CallArgs& args) {
  if (!truthy(v)) return Value::generator({});
  const ValueList items = filter_items(v);
  ValueList out;
  if (args.positional.empty()) {
    Value attribute, fallback = Value::none();
    for (const auto& [k, val] : args.keywords) {
      if (k == "attribute") {
        attribute = val;
      } else if (k == "default") {
        fallback = val;
      } else {
        runtime_error(fmt::format("Unexpected keyword argument '{}'", k));
      }
    }
    if (attribute.is_undefined()) runtime_error("map requires a filter argument");
    for (const Value& item : items) {
      Value x = lookup_path(item, attribute);
      if (x.is_undefined() && !fallback.is_none()) x = fallback;
      out.push_back(std::move(x));
    }
    return Value::generator(std::move(out));
  }
  const Value name = args.positional.front();
  if (!name.is_string()) runtime_error("map() needs a filter name");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keywords = args.keywords;
  for (const Value& item : items) {
    CallArgs each = rest;
    out.push_back(ev.apply_filter(name.string(), item, each));
  }
  return Value::generator(std::move(out));
}

Value select_or_reject(Evaluator& ev, const Value& v, CallArgs& args, bool select, bool by_attribute,
                       const char* function) {
  if (!truthy(v)) return Value::generator({});
  size_t off = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) runtime_error(fmt::format("{}: missing parameter for attribute name", function));
    attribute = args.positional[0];
    off = 1;
  }
  std::optional<std::string> test;
  if (args.positional.size() > off) {
    if (!args.positional[off].is_string()) runtime_error(fmt::format("{}: the test name must be a string", function));
    test = args.positional[off].string();
  }
  CallArgs rest;
  if (test) rest.positional.assign(args.positional.begin() + std::ptrdiff_t(off + 1), args.positional.end());
  rest.keywords = args.keywords;
  ValueList out;
  for (const Value& item : filter_items(v)) {
    const Value subject = by_attribute ? lookup_path(item, attribute) : item;
    bool ok = false;
    if (test) {
      CallArgs each = rest;
      ok = ev.apply_test(*test, subject, each);
    } else {
      ok = truthy(subject);
    }
    if (ok == select) out.push_back(item);
  }
  return Value::generator(std::move(out));
}

Value f_select(Evaluator& ev, const Value& v, CallArgs& args) {
  return select_or_reject(ev, v, args, true, false, "select");
}
Value f_reject(Evaluator& ev, const Value& v, CallArgs& args) {
  return select_or_reject(ev, v, args, false, false, "reject");
}
Value f_selectattr(Evaluator& ev, const Value& v, CallArgs& args) {
  return select_or_reject(ev, v, args, true, true, "selectattr");
}
Value f_rejectattr(Evaluator& ev, const Value& v, CallArgs& args) {
  return select_or_reject(ev, v, args, false, true, "rejectattr");
}

Value min_or_max(const Value& v, CallArgs& args, bool want_max, const char* function) {
  const ArgReader a(function, args, {"case_sensitive", "attribute"});
  const bool case_sensitive = bool_arg(a.get(0), false);
  const Value attribute = a.get_or(1, Value::none());
  const ValueList items = filter_items(v);
  if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
  const auto key = [&](const Value& item) {
    const Value k = lookup_path(item, attribute);
    return case_sensitive ? k : ignore_case(k);
  };
  size_t best = 0;
  Value best_key = key(items[0]);
  for (size_t i = 1; i < items.size(); ++i) {
    Value k = key(items[i]);
    if (want_max ? less(best_key, k) : less(k, best_key)) {
      best = i;
      best_key = std::move(k);
    }
  }
  return items[best];
}

Value f_min(Evaluator&, const Value& v, CallArgs& args) { return min_or_max(v, args, false, "min"); }
Value f_max(Evaluator&, const Value& v, CallArgs& args) { return min_or_max(v, args, true, "max"); }

Value f_replace(Evaluator& ev, const Value& v, CallArgs& args) {
  const ArgReader a("replace", args, {"old", "new", "count"});
  return python_replace(text_of(v), text_of(a.get_or(0, Value())), text_of(a.get_or(1, Value())),
                        int_arg(a.get(2), -1, "count"), ev.max_bytes());
}

Value f_reverse(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("reverse", args, {});
  if (v.is_string()) {
    const std::string& s = v.string();
    const std::vector<size_t> at = text::offsets(s);
    std::string out;
    for (size_t i = at.size() - 1; i > 0; --i) out.append(s, at[i - 1], at[i] - at[i - 1]);
    return keep_markup(v, std::move(out));
  }
  // Jinja2 returns reversed(value) (an iterator) where Python can reverse it, else a list.
  ValueList items = filter_items(v);
  std::reverse(items.begin(), items.end());
  if (v.kind() == Kind::List) return Value::generator(std::move(items), "list_reverseiterator");
  if (v.kind() == Kind::Tuple) return Value::generator(std::move(items), "reversed");
  if (v.is_dict()) return Value::generator(std::move(items), "dict_reversekeyiterator");
  return Value::list(std::move(items));
}

Value f_round(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("round", args, {"precision", "method"});
  const int64_t precision = int_arg(a.get(0), 0, "precision");
  const std::string method = text_of(a.get_or(1, Value("common")));
  if (!v.is_number()) runtime_error(fmt::format("round() needs a number, not '{}'", type_name(v)));
  const double x = v.real(), scale = std::pow(10.0, double(precision));
  if (method == "ceil") return std::ceil(x * scale) / scale;
  if (method == "floor") return std::floor(x * scale) / scale;
  if (method != "common") runtime_error("method must be common, ceil or floor");
  if (v.is_integral() && precision >= 0) return v.integer();  // Python's round() keeps an int an int
  // No fraction to round at this size (a double has 53 bits), and %f of it would be long.
  if (!std::isfinite(x) || (std::fabs(x) >= 1e17 && precision >= 0)) return x;
  // Python rounds the exact binary value to `precision` decimals, ties to even (2.675 is
  // 2.67499999..., so 2.67), which is what printf's %.*f does; scaling by 100 first would not.
  if (precision >= 0 && precision <= 340) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), "%.*f", int(precision), x);
    return std::strtod(buf, nullptr);
  }
  return std::nearbyint(x * scale) / scale;
}

Value f_safe(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("safe", args, {});
  return v.is_markup() ? v : Value::markup(text_of(v));
}

Value f_slice(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("slice", args, {"slices", "fill_with"});
  const int64_t slices = int_arg(a.get(0), 0, "slices");
  if (slices <= 0) runtime_error("slice() needs a positive number of slices");
  const Value fill = a.get_or(1, Value::none());
  const ValueList items = filter_items(v);
  const size_t per = items.size() / size_t(slices), extra = items.size() % size_t(slices);
  ValueList out;
  size_t offset = 0;
  for (size_t i = 0; i < size_t(slices); ++i) {
    const size_t n = per + (i < extra ? 1 : 0);
    ValueList part(items.begin() + std::ptrdiff_t(offset), items.begin() + std::ptrdiff_t(offset + n));
    offset += n;
    if (!fill.is_none() && i >= extra && extra > 0) part.push_back(fill);
    out.push_back(Value::list(std::move(part)));
  }
  return Value::generator(std::move(out));
}

Value f_sort(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("sort", args, {"reverse", "case_sensitive", "attribute"});
  const bool reverse = bool_arg(a.get(0), false), case_sensitive = bool_arg(a.get(1), false);
  const Value attribute = a.get_or(2, Value::none());
  std::vector<Value> parts;
  if (attribute.is_string()) {
    for (const std::string& p : text::split(attribute.string(), std::string_view(","), -1)) parts.emplace_back(p);
  } else {
    parts.push_back(attribute);
  }
  return Value::list(sorted_by(
      filter_items(v),
      [&](const Value& item) {
        ValueList keys;
        for (const Value& p : parts) {
          const Value k = lookup_path(item, p);
          keys.push_back(case_sensitive ? k : ignore_case(k));
        }
        return keys.size() == 1 ? keys[0] : Value::tuple(std::move(keys));
      },
      reverse));
}

Value f_string(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("string", args, {});
  return v.is_string() ? v : Value(text_of(v));  // a Markup stays Markup
}

Value f_sum(Evaluator& ev, const Value& v, CallArgs& args) {
  const ArgReader a("sum", args, {"attribute", "start"});
  const Value attribute = a.get_or(0, Value::none());
  Value total = a.get_or(1, Value(int64_t(0)));
  for (const Value& item : filter_items(v))
    total = binary(BinaryOp::Add, total, lookup_path(item, attribute), ev.max_bytes());
  return total;
}

Value f_title(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("title", args, {});
  // Jinja2 capitalizes each piece after a run of '-', whitespace, or opening brackets.
  const std::string s = text_of(v);
  std::string out, word;
  const auto flush = [&]() {
    if (word.empty()) return;
    out += text::capitalize(word);
    word.clear();
  };
  for (size_t pos = 0, n = 0; pos < s.size(); pos += n) {
    const uint32_t c = text::decode_at(s, pos, n);
    if (c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || text::is_space(c)) {
      flush();
      out.append(s, pos, n);
    } else {
      word.append(s, pos, n);
    }
  }
  flush();
  return out;
}

Value f_tojson(Evaluator& ev, const Value& v, CallArgs& args) {
  // Hugging Face's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  const ArgReader a("tojson", args, {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonOptions o;
  o.ensure_ascii = bool_arg(a.get(0), false);
  if (const Value* indent = a.get(1); indent != nullptr && !indent->is_none()) {
    if (indent->is_string()) {
      o.indent = indent->string();
    } else {
      const int64_t n = int_arg(indent, 0, "indent");
      ev.check_size(size_t(std::max<int64_t>(n, 0)));
      o.indent = std::string(size_t(std::max<int64_t>(n, 0)), ' ');
    }
  }
  if (const Value* seps = a.get(2); seps != nullptr && !seps->is_none()) {
    if (!seps->is_sequence() || seps->items().size() != 2 || !seps->items()[0].is_string() ||
        !seps->items()[1].is_string()) {
      runtime_error("tojson: separators must be a pair of strings");
    }
    o.item_separator = seps->items()[0].string();
    o.key_separator = seps->items()[1].string();
  }
  o.sort_keys = bool_arg(a.get(3), false);
  return to_json(v, o, ev.max_bytes());
}

Value f_trim(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("trim", args, {"chars"});
  const Value* chars = a.get(0);
  std::optional<std::string_view> set;
  std::string chars_text;
  if (chars != nullptr && !chars->is_none()) {
    chars_text = text_of(*chars);
    if (v.is_markup() && !chars->is_markup()) chars_text = text::html_escape(chars_text);  // Markup.strip escapes
    set = chars_text;
  }
  return keep_markup(v, std::string(text::strip(text_of(v), set, true, true)));
}

Value f_truncate(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("truncate", args, {"length", "killwords", "end", "leeway"});
  const std::string s = text_of(v);
  const int64_t len = int_arg(a.get(0), 255, "length");
  const bool killwords = bool_arg(a.get(1), false);
  const std::string end = text_of(a.get_or(2, Value("...")));
  const int64_t leeway = int_arg(a.get(3), 5, "leeway");  // Jinja2's default policy
  const int64_t end_len = int64_t(text::length(end));
  if (len < end_len) runtime_error(fmt::format("expected length >= {}, got {}", end_len, len));
  if (leeway < 0) runtime_error(fmt::format("expected leeway >= 0, got {}", leeway));
  const std::vector<size_t> at = text::offsets(s);
  if (int64_t(at.size()) - 1 <= len + leeway) return v.is_string() ? v : Value(s);
  const std::string head = s.substr(0, at[size_t(len - end_len)]);
  const std::string kept = killwords ? head : text::rsplit(head, std::string_view(" "), 1).front();
  return binary(BinaryOp::Add, keep_markup(v, kept), Value(end), s.size() + end.size());
}

Value f_unique(Evaluator&, const Value& v, CallArgs& args) {
  const ArgReader a("unique", args, {"case_sensitive", "attribute"});
  const bool case_sensitive = bool_arg(a.get(0), false);
  const Value attribute = a.get_or(1, Value::none());
  ValueList out, seen;
  for (const Value& item : filter_items(v)) {
    Value key = lookup_path(item, attribute);
    if (!case_sensitive) key = ignore_case(key);
    if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
      seen.push_back(std::move(key));
      out.push_back(item);
    }
  }
  return Value::generator(std::move(out));
}

Value f_wordcount(Evaluator&, const Value& v, CallArgs& args) {
  ArgReader("wordcount", args, {});
  // Jinja2 counts runs of word characters (\w+): letters, digits and '_'.
  int64_t n = 0;
  bool in_word = false;
  for (uint32_t c : text::codepoints(text_of(v))) {
    const bool w = c == '_' || (c < 0x80 ? std::isalnum(int(c)) != 0 : !text::is_space(c));
    if (w && !in_word) ++n;
    in_word = w;
  }
  return n;
}

Value f_unsupported(Evaluator&, const Value&, CallArgs&) {
  runtime_error("this filter is not available to chat templates (it needs HTML escaping or randomness)");
}

// Alphabetical, for the binary search in find_filter.
constexpr Filter kFilters[] = {
    {"abs", f_abs},
    {"attr", f_attr},
    {"batch", f_batch},
    {"capitalize", f_capitalize},
    {"center", f_center},
    {"count", f_count},
    {"d", f_default},
    {"default", f_default},
    {"dictsort", f_dictsort},
    {"e", f_unsupported},
    {"escape", f_unsupported},
    {"filesizeformat", f_unsupported},
    {"first", f_first},
    {"float", f_float},
    {"forceescape", f_unsupported},
    {"format", f_format},
    {"groupby", f_groupby},
    {"indent", f_indent},
    {"int", f_int},
    {"items", f_items},
    {"join", f_join},
    {"last", f_last},
    {"length", f_length},
    {"list", f_list},
    {"lower", f_lower},
    {"map", f_map},
    {"max", f_max},
    {"min", f_min},
    {"pprint", f_unsupported},
    {"random", f_unsupported},
    {"reject", f_reject},
    {"rejectattr", f_rejectattr},
    {"replace", f_replace},
    {"reverse", f_reverse},
    {"round", f_round},
    {"safe", f_safe},
    {"select", f_select},
    {"selectattr", f_selectattr},
    {"slice", f_slice},
    {"sort", f_sort},
    {"string", f_string},
    {"striptags", f_unsupported},
    {"sum", f_sum},
    {"title", f_title},
    {"tojson", f_tojson},
    {"trim", f_trim},
    {"truncate", f_truncate},
    {"unique", f_unique},
    {"upper", f_upper},
    {"urlencode", f_unsupported},
    {"urlize", f_unsupported},
    {"wordcount", f_wordcount},
    {"wordwrap", f_unsupported},
    {"xmlattr", f_unsupported},
};

// ---- tests ----

const Value& arg0(const char* test, CallArgs& args) {
  if (args.positional.size() != 1 || !args.keywords.empty()) {
    runtime_error(fmt::format("the test '{}' takes one argument", test));
  }
  return args.positional[0];
}

bool t_defined(Evaluator&, const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(Evaluator&, const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(Evaluator&, const Value& v, CallArgs&) { return v.is_none(); }
bool t_boolean(Evaluator&, const Value& v, CallArgs&) { return v.is_bool(); }
bool t_false(Evaluator&, const Value& v, CallArgs&) { return v.is_bool() && !v.boolean(); }
bool t_true(Evaluator&, const Value& v, CallArgs&) { return v.is_bool() && v.boolean(); }
bool t_integer(Evaluator&, const Value& v, CallArgs&) { return v.is_int(); }
bool t_float(Evaluator&, const Value& v, CallArgs&) { return v.is_float(); }
bool t_number(Evaluator&, const Value& v, CallArgs&) { return v.is_number(); }
bool t_string(Evaluator&, const Value& v, CallArgs&) { return v.is_string(); }
bool t_mapping(Evaluator&, const Value& v, CallArgs&) { return v.is_dict(); }
// Jinja2: len() and __getitem__ (an undefined value has both); iterable: __iter__.
bool t_sequence(Evaluator&, const Value& v, CallArgs&) {
  return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined();
}
bool t_iterable(Evaluator&, const Value& v, CallArgs&) {
  return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined() || v.is_generator();
}
bool t_callable(Evaluator&, const Value& v, CallArgs&) { return v.is_function() || v.is_object(); }
bool t_escaped(Evaluator&, const Value&, CallArgs&) { return false; }

int64_t integer_subject(const Value& v, const char* test) {
  if (!v.is_integral()) runtime_error(fmt::format("the test '{}' needs an integer, not '{}'", test, type_name(v)));
  return v.integer();
}
bool t_odd(Evaluator&, const Value& v, CallArgs&) { return integer_subject(v, "odd") % 2 != 0; }
bool t_even(Evaluator&, const Value& v, CallArgs&) { return integer_subject(v, "even") % 2 == 0; }
bool t_divisibleby(Evaluator& ev, const Value& v, CallArgs& args) {
  return equals(binary(BinaryOp::Mod, v, arg0("divisibleby", args), ev.max_bytes()), Value(int64_t(0)));
}
bool t_lower(Evaluator&, const Value& v, CallArgs&) { return text::is_lower_string(to_string(v)); }
bool t_upper(Evaluator&, const Value& v, CallArgs&) { return text::is_upper_string(to_string(v)); }
bool t_in(Evaluator&, const Value& v, CallArgs& args) { return contains(arg0("in", args), v); }
bool t_eq(Evaluator&, const Value& v, CallArgs& args) { return equals(v, arg0("eq", args)); }
bool t_ne(Evaluator&, const Value& v, CallArgs& args) { return !equals(v, arg0("ne", args)); }
bool t_lt(Evaluator&, const Value& v, CallArgs& args) { return less(v, arg0("lt", args)); }
bool t_le(Evaluator&, const Value& v, CallArgs& args) {
  const Value& o = arg0("le", args);
  return less(v, o) || equals(v, o);
}
bool t_gt(Evaluator&, const Value& v, CallArgs& args) { return less(arg0("gt", args), v); }
bool t_ge(Evaluator&, const Value& v, CallArgs& args) {
  const Value& o = arg0("ge", args);
  return less(o, v) || equals(v, o);
}
// `is sameas`: identity. Only None and the two booleans are single objects a template can
// name; other values compare as the same object when they share storage.
bool t_sameas(Evaluator&, const Value& v, CallArgs& args) {
  const Value& o = arg0("sameas", args);
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Kind::None:
      return true;
    case Kind::Bool:
      return v.boolean() == o.boolean();
    case Kind::Int:
      return v.integer() == o.integer() && v.integer() >= -5 && v.integer() <= 256;  // CPython's cache
    case Kind::String:
      return &v.string() == &o.string();
    case Kind::List:
    case Kind::Tuple:
      return &v.items() == &o.items();
    case Kind::Dict:
      return &v.dict() == &o.dict();
    default:
      return equals(v, o);
  }
}
bool t_filter(Evaluator&, const Value& v, CallArgs&) { return v.is_string() && find_filter(v.string()) != nullptr; }
bool t_test(Evaluator&, const Value& v, CallArgs&) { return v.is_string() && find_test(v.string()) != nullptr; }

constexpr Test kTests[] = {
    {"!=", t_ne},
    {"<", t_lt},
    {"<=", t_le},
    {"==", t_eq},
    {">", t_gt},
    {">=", t_ge},
    {"boolean", t_boolean},
    {"callable", t_callable},
    {"defined", t_defined},
    {"divisibleby", t_divisibleby},
    {"eq", t_eq},
    {"equalto", t_eq},
    {"escaped", t_escaped},
    {"even", t_even},
    {"false", t_false},
    {"filter", t_filter},
    {"float", t_float},
    {"ge", t_ge},
    {"greaterthan", t_gt},
    {"gt", t_gt},
    {"in", t_in},
    {"integer", t_integer},
    {"iterable", t_iterable},
    {"le", t_le},
    {"lessthan", t_lt},
    {"lower", t_lower},
    {"lt", t_lt},
    {"mapping", t_mapping},
    {"ne", t_ne},
    {"none", t_none},
    {"number", t_number},
    {"odd", t_odd},
    {"sameas", t_sameas},
    {"sequence", t_sequence},
    {"string", t_string},
    {"test", t_test},
    {"true", t_true},
    {"undefined", t_undefined},
    {"upper", t_upper},
};

template <typename T, size_t N>
const T* find_named(const T (&table)[N], std::string_view name) {
  const T* it = std::lower_bound(std::begin(table), std::end(table), name,
                                 [](const T& entry, std::string_view n) { return entry.name < n; });
  return it != std::end(table) && it->name == name ? it : nullptr;
}

// ---- globals ----

Value g_range(Evaluator& ev, CallArgs& args) {
  if (!args.keywords.empty()) runtime_error("range() takes no keyword arguments");
  const auto as_int = [](const Value& v) {
    if (!v.is_integral()) runtime_error(fmt::format("'{}' object cannot be interpreted as an integer", type_name(v)));
    return v.integer();
  };
  int64_t start = 0, stop = 0, step = 1;
  const ValueList& p = args.positional;
  if (p.size() == 1) {
    stop = as_int(p[0]);
  } else if (p.size() == 2 || p.size() == 3) {
    start = as_int(p[0]);
    stop = as_int(p[1]);
    if (p.size() == 3) step = as_int(p[2]);
  } else {
    runtime_error(fmt::format("range expected 1 to 3 arguments, got {}", p.size()));
  }
  if (step == 0) runtime_error("range() arg 3 must not be zero");
  const long double count = step > 0 ? (stop > start ? ((long double)stop - start + step - 1) / step : 0)
                                     : (stop < start ? ((long double)start - stop - step - 1) / -step : 0);
  // Jinja2's sandbox refuses ranges of more than 100000 items (MAX_RANGE).
  if (count > 100000) runtime_error("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
  ev.charge(uint64_t(count));
  ValueList out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
  return Value::list(std::move(out));
}

// Python's dict(...) / dict(mapping) / dict(pairs) with keyword items on top.
Dict dict_from(CallArgs& args, const char* function) {
  Dict d;
  if (args.positional.size() > 1) {
    runtime_error(fmt::format("{} expected at most 1 argument, got {}", function, args.positional.size()));
  }
  if (!args.positional.empty()) {
    const Value& src = args.positional[0];
    if (src.is_dict()) {
      d = src.dict();
    } else if (src.is_namespace()) {
      d = src.namespace_attributes();
    } else {
      for (const Value& pair : iterate(src)) {
        const ValueList kv = iterate(pair);
        if (kv.size() != 2) runtime_error("dictionary update sequence element has the wrong length; 2 is required");
        d.set(kv[0], kv[1]);
      }
    }
  }
  for (const auto& [k, v] : args.keywords) d.set(Value(k), v);
  return d;
}

Value g_dict(Evaluator&, CallArgs& args) { return Value::dict(dict_from(args, "dict")); }

Value g_namespace(Evaluator& ev, CallArgs& args) {
  Value ns = Value::new_namespace(dict_from(args, "namespace"));
  ev.track_namespace(ns);
  return ns;
}

Value g_raise_exception(Evaluator&, CallArgs& args) {
  const ArgReader a("raise_exception", args, {"message"});
  throw Error(ErrorKind::Raised, to_string(a.get_or(0, Value(std::string()))));
}

// C's strftime in the "C" locale, which is what Python's datetime.strftime calls on Linux
// (month and day names in English, glibc's extensions such as %-d included).
Value g_strftime_now(Evaluator& ev, CallArgs& args) {
  const ArgReader a("strftime_now", args, {"format"});
  const Value format = a.get_or(0, Value());
  if (!format.is_string()) runtime_error("strftime_now() needs a format string");
  const std::time_t now = ev.now();
  std::tm local{};
  localtime_r(&now, &local);
  if (format.string().size() > 4096) runtime_error("strftime_now(): the format is longer than 4096 bytes");
  std::string out(format.string().size() * 8 + 64, '\0');
  const size_t n = std::strftime(out.data(), out.size(), format.string().c_str(), &local);
  out.resize(n);
  return out;
}

Value g_joiner(Evaluator&, CallArgs& args) {
  const ArgReader a("joiner", args, {"sep"});
  const std::string sep = to_string(a.get_or(0, Value(", ")));
  auto used = std::make_shared<bool>(false);
  return Value::function("joiner", [sep, used](Evaluator&, CallArgs&) -> Value {
    if (!*used) {
      *used = true;
      return std::string();
    }
    return sep;
  });
}

class Cycler : public Object {
 public:
  explicit Cycler(ValueList items) : items_(std::move(items)), position_(std::make_shared<size_t>(0)) {}
  std::string_view type_name() const override { return "Cycler"; }
  std::string repr() const override { return "<Cycler>"; }
  Value attribute(std::string_view name) const override {
    auto pos = position_;
    const ValueList items = items_;
    if (name == "current") return items_[*pos];
    if (name == "next") {
      return Value::function("cycler.next", [pos, items](Evaluator&, CallArgs&) -> Value {
        const Value v = items[*pos];
        *pos = (*pos + 1) % items.size();
        return v;
      });
    }
    if (name == "reset") {
      return Value::function("cycler.reset", [pos](Evaluator&, CallArgs&) -> Value {
        *pos = 0;
        return Value::none();
      });
    }
    return Object::attribute(name);
  }

 private:
  ValueList items_;
  std::shared_ptr<size_t> position_;
};

Value g_cycler(Evaluator&, CallArgs& args) {
  if (args.positional.empty()) runtime_error("at least one item has to be provided");
  return Value::object(std::make_shared<Cycler>(args.positional));
}

}  // namespace

const Filter* find_filter(std::string_view name) { return find_named(kFilters, name); }
const Test* find_test(std::string_view name) { return find_named(kTests, name); }

Dict global_functions() {
  Dict d;
  d.set(Value("range"), Value::function("range", g_range));
  d.set(Value("dict"), Value::function("dict", g_dict));
  d.set(Value("namespace"), Value::function("namespace", g_namespace));
  d.set(Value("joiner"), Value::function("joiner", g_joiner));
  d.set(Value("cycler"), Value::function("cycler", g_cycler));
  d.set(Value("raise_exception"), Value::function("raise_exception", g_raise_exception));
  d.set(Value("strftime_now"), Value::function("strftime_now", g_strftime_now));
  return d;
}

}  // namespace vkgraph::jinja
