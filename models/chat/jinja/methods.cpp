// Python's str, dict and list methods for templates (see methods.h). Positions and lengths are
// in code points, as Python counts them.

#include "models/chat/jinja/methods.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "models/chat/jinja/builtins.h"
#include "models/chat/jinja/error.h"
#include "models/chat/jinja/evaluator.h"
#include "models/chat/jinja/formatting.h"
#include "models/chat/jinja/operations.h"
#include "models/chat/jinja/text.h"
#include "models/tokenizer/unicode.h"

namespace vkgraph::jinja {

namespace {

using Method = Value (*)(Evaluator&, const Value& self, CallArgs& args);

const std::string& str_arg(const Value* v, const char* method, const char* what) {
  if (v == nullptr || !v->is_string()) {
    runtime_error(fmt::format("{}() argument '{}' must be str, not {}", method, what,
                              v == nullptr ? std::string("nothing") : type_name(*v)));
  }
  return v->string();
}

std::optional<std::string_view> optional_str(const Value* v, const char* method) {
  if (v == nullptr || v->is_none()) return std::nullopt;
  if (!v->is_string()) runtime_error(fmt::format("{} arg must be None or str", method));
  return std::string_view(v->string());
}

int64_t int_or(const Value* v, int64_t fallback) {
  if (v == nullptr || v->is_none()) return fallback;
  if (!v->is_integral()) runtime_error(fmt::format("'{}' object cannot be interpreted as an integer", type_name(*v)));
  return v->integer();
}

ValueList string_list(std::vector<std::string> parts) {
  ValueList out;
  out.reserve(parts.size());
  for (std::string& p : parts) out.emplace_back(std::move(p));
  return out;
}

// s[start:end] by code points, with Python's clamping of negative and large bounds.
std::string window(const std::string& s, const Value* start, const Value* end) {
  if ((start == nullptr || start->is_none()) && (end == nullptr || end->is_none())) return s;
  return slice(Value(s), start ? *start : Value::none(), end ? *end : Value::none(), Value::none()).string();
}

// ---- str ----

Value s_strip(Evaluator&, const Value& self, CallArgs& args, bool left, bool right, const char* name) {
  const ArgReader a(name, args, {"chars"});
  return std::string(text::strip(self.string(), optional_str(a.get(0), name), left, right));
}
Value s_strip(Evaluator& ev, const Value& self, CallArgs& args) { return s_strip(ev, self, args, true, true, "strip"); }
Value s_lstrip(Evaluator& ev, const Value& self, CallArgs& args) {
  return s_strip(ev, self, args, true, false, "lstrip");
}
Value s_rstrip(Evaluator& ev, const Value& self, CallArgs& args) {
  return s_strip(ev, self, args, false, true, "rstrip");
}

Value s_split_common(const Value& self, CallArgs& args, bool reverse, const char* name) {
  const ArgReader a(name, args, {"sep", "maxsplit"});
  const std::optional<std::string_view> sep = optional_str(a.get(0), name);
  if (sep && sep->empty()) runtime_error("empty separator");
  const int64_t maxsplit = int_or(a.get(1), -1);
  return Value::list(
      string_list(reverse ? text::rsplit(self.string(), sep, maxsplit) : text::split(self.string(), sep, maxsplit)));
}
Value s_split(Evaluator&, const Value& self, CallArgs& args) { return s_split_common(self, args, false, "split"); }
Value s_rsplit(Evaluator&, const Value& self, CallArgs& args) { return s_split_common(self, args, true, "rsplit"); }

Value s_splitlines(Evaluator&, const Value& self, CallArgs& args) {
  const ArgReader a("splitlines", args, {"keepends"});
  return Value::list(string_list(text::splitlines(self.string(), a.get(0) != nullptr && truthy(*a.get(0)))));
}

Value s_affix(const Value& self, CallArgs& args, bool prefix) {
  const char* name = prefix ? "startswith" : "endswith";
  const ArgReader a(name, args, {"prefix", "start", "end"});
  const std::string s = window(self.string(), a.get(1), a.get(2));
  const Value* what = a.get(0);
  ValueList candidates;
  if (what != nullptr && what->kind() == Kind::Tuple) {
    candidates = what->items();
  } else if (what != nullptr) {
    candidates.push_back(*what);
  }
  if (candidates.empty() && (what == nullptr || what->kind() != Kind::Tuple)) {
    runtime_error(fmt::format("{}() takes at least 1 argument (0 given)", name));
  }
  for (const Value& c : candidates) {
    if (!c.is_string()) {
      runtime_error(fmt::format("{} first arg must be str or a tuple of str, not {}", name, type_name(c)));
    }
    const std::string& t = c.string();
    if (t.size() <= s.size() &&
        (prefix ? s.compare(0, t.size(), t) == 0 : s.compare(s.size() - t.size(), t.size(), t) == 0)) {
      return true;
    }
  }
  return false;
}
Value s_startswith(Evaluator&, const Value& self, CallArgs& args) { return s_affix(self, args, true); }
Value s_endswith(Evaluator&, const Value& self, CallArgs& args) { return s_affix(self, args, false); }

Value s_no_args(const Value& self, CallArgs& args, const char* name, std::string (*f)(std::string_view)) {
  ArgReader(name, args, {});
  return f(self.string());
}
Value s_upper(Evaluator&, const Value& self, CallArgs& args) { return s_no_args(self, args, "upper", text::upper); }
Value s_lower(Evaluator&, const Value& self, CallArgs& args) { return s_no_args(self, args, "lower", text::lower); }
Value s_casefold(Evaluator&, const Value& self, CallArgs& args) {
  return s_no_args(self, args, "casefold", text::lower);
}
Value s_title(Evaluator&, const Value& self, CallArgs& args) { return s_no_args(self, args, "title", text::title); }
Value s_capitalize(Evaluator&, const Value& self, CallArgs& args) {
  return s_no_args(self, args, "capitalize", text::capitalize);
}
Value s_swapcase(Evaluator&, const Value& self, CallArgs& args) {
  return s_no_args(self, args, "swapcase", text::swapcase);
}

Value s_replace(Evaluator& ev, const Value& self, CallArgs& args) {
  const ArgReader a("replace", args, {"old", "new", "count"});
  return python_replace(self.string(), str_arg(a.get(0), "replace", "old"), str_arg(a.get(1), "replace", "new"),
                        int_or(a.get(2), -1), ev.max_bytes());
}

Value s_find_common(const Value& self, CallArgs& args, bool reverse, bool must_find, const char* name) {
  const ArgReader a(name, args, {"sub", "start", "end"});
  const std::string& sub = str_arg(a.get(0), name, "sub");
  const int64_t n = int64_t(text::length(self.string()));
  const int64_t at = text::find(self.string(), sub, int_or(a.get(1), 0), int_or(a.get(2), n), reverse);
  if (at < 0 && must_find) runtime_error("substring not found");
  return at;
}
Value s_find(Evaluator&, const Value& self, CallArgs& args) { return s_find_common(self, args, false, false, "find"); }
Value s_rfind(Evaluator&, const Value& self, CallArgs& args) { return s_find_common(self, args, true, false, "rfind"); }
Value s_index(Evaluator&, const Value& self, CallArgs& args) { return s_find_common(self, args, false, true, "index"); }
Value s_rindex(Evaluator&, const Value& self, CallArgs& args) {
  return s_find_common(self, args, true, true, "rindex");
}

Value s_count(Evaluator&, const Value& self, CallArgs& args) {
  const ArgReader a("count", args, {"sub", "start", "end"});
  return text::count(window(self.string(), a.get(1), a.get(2)), str_arg(a.get(0), "count", "sub"));
}

Value s_join(Evaluator& ev, const Value& self, CallArgs& args) {
  const ArgReader a("join", args, {"iterable"});
  const Value* items = a.get(0);
  if (items == nullptr) runtime_error("join() takes exactly one argument (0 given)");
  std::string out;
  size_t i = 0;
  for (const Value& item : iterate(*items)) {
    if (!item.is_string()) {
      runtime_error(fmt::format("sequence item {}: expected str instance, {} found", i, type_name(item)));
    }
    if (i++ > 0) out += self.string();
    out += item.string();
    ev.check_size(out.size());
  }
  return out;
}

Value s_format(Evaluator& ev, const Value& self, CallArgs& args) {
  return str_format(self.string(), args, ev.max_bytes(), false);
}

Value s_format_map(Evaluator& ev, const Value& self, CallArgs& args) {
  const ArgReader a("format_map", args, {"mapping"});
  const Value* mapping = a.get(0);
  if (mapping == nullptr || !mapping->is_dict()) runtime_error("format_map() needs a mapping");
  CallArgs named;
  for (const auto& [k, v] : mapping->dict().entries) {
    if (k.is_string()) named.keywords.emplace_back(k.string(), v);
  }
  return str_format(self.string(), named, ev.max_bytes(), false);
}

template <bool (*Pred)(uint32_t)>
Value s_is(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("is...", args, {});
  const std::vector<uint32_t> cps = text::codepoints(self.string());
  return !cps.empty() && std::all_of(cps.begin(), cps.end(), Pred);
}
bool cp_digit(uint32_t c) { return (c >= '0' && c <= '9') || (c >= 0x80 && unicode::is_number(c)); }
bool cp_alpha(uint32_t c) { return (c < 0x80 && std::isalpha(int(c))) || (c >= 0x80 && unicode::is_letter(c)); }
bool cp_alnum(uint32_t c) { return cp_digit(c) || cp_alpha(c); }
bool cp_space(uint32_t c) { return text::is_space(c); }

Value s_isupper(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("isupper", args, {});
  return text::is_upper_string(self.string());
}
Value s_islower(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("islower", args, {});
  return text::is_lower_string(self.string());
}

Value s_pad(Evaluator& ev, const Value& self, CallArgs& args, char where, const char* name) {
  const ArgReader a(name, args, {"width", "fillchar"});
  const int64_t width = int_or(a.get(0), 0);
  ev.check_size(size_t(std::max<int64_t>(width, 0)) * 4);
  std::string fill = " ";
  if (const Value* f = a.get(1)) {
    if (!f->is_string() || text::length(f->string()) != 1) {
      runtime_error("The fill character must be exactly one character long");
    }
    fill = f->string();
  }
  const std::string& s = self.string();
  const int64_t len = int64_t(text::length(s));
  if (width <= len) return s;
  const int64_t pad = width - len;
  int64_t left = where == '<' ? 0 : where == '>' ? pad : pad / 2 + (pad & width & 1);
  std::string out;
  for (int64_t i = 0; i < left; ++i) out += fill;
  out += s;
  for (int64_t i = 0; i < pad - left; ++i) out += fill;
  return out;
}
Value s_center(Evaluator& ev, const Value& self, CallArgs& args) { return s_pad(ev, self, args, '^', "center"); }
Value s_ljust(Evaluator& ev, const Value& self, CallArgs& args) { return s_pad(ev, self, args, '<', "ljust"); }
Value s_rjust(Evaluator& ev, const Value& self, CallArgs& args) { return s_pad(ev, self, args, '>', "rjust"); }

Value s_zfill(Evaluator& ev, const Value& self, CallArgs& args) {
  const ArgReader a("zfill", args, {"width"});
  const int64_t width = int_or(a.get(0), 0);
  ev.check_size(size_t(std::max<int64_t>(width, 0)));
  const std::string& s = self.string();
  const int64_t len = int64_t(text::length(s));
  if (width <= len) return s;
  const bool sign = !s.empty() && (s[0] == '+' || s[0] == '-');
  return (sign ? s.substr(0, 1) : "") + std::string(size_t(width - len), '0') + (sign ? s.substr(1) : s);
}

Value s_partition_common(const Value& self, CallArgs& args, bool reverse, const char* name) {
  const ArgReader a(name, args, {"sep"});
  const std::string& sep = str_arg(a.get(0), name, "sep");
  if (sep.empty()) runtime_error("empty separator");
  const std::string& s = self.string();
  const size_t at = reverse ? s.rfind(sep) : s.find(sep);
  if (at == std::string::npos) {
    return reverse ? Value::tuple({std::string(), std::string(), s}) : Value::tuple({s, std::string(), std::string()});
  }
  return Value::tuple({s.substr(0, at), sep, s.substr(at + sep.size())});
}
Value s_partition(Evaluator&, const Value& self, CallArgs& args) {
  return s_partition_common(self, args, false, "partition");
}
Value s_rpartition(Evaluator&, const Value& self, CallArgs& args) {
  return s_partition_common(self, args, true, "rpartition");
}

Value s_removeaffix(const Value& self, CallArgs& args, bool prefix) {
  const char* name = prefix ? "removeprefix" : "removesuffix";
  const ArgReader a(name, args, {"affix"});
  const std::string& t = str_arg(a.get(0), name, "affix");
  const std::string& s = self.string();
  if (t.size() > s.size()) return s;
  if (prefix) return s.compare(0, t.size(), t) == 0 ? s.substr(t.size()) : s;
  return s.compare(s.size() - t.size(), t.size(), t) == 0 ? s.substr(0, s.size() - t.size()) : s;
}
Value s_removeprefix(Evaluator&, const Value& self, CallArgs& args) { return s_removeaffix(self, args, true); }
Value s_removesuffix(Evaluator&, const Value& self, CallArgs& args) { return s_removeaffix(self, args, false); }

// ---- dict ----

Value d_get(Evaluator&, const Value& self, CallArgs& args) {
  const ArgReader a("get", args, {"key", "default"});
  const Value* key = a.get(0);
  if (key == nullptr) runtime_error("get expected at least 1 argument, got 0");
  const Value* found = self.dict().find(*key);
  return found != nullptr ? *found : a.get_or(1, Value::none());
}

Value d_items(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("items", args, {});
  ValueList out;
  for (const auto& [k, v] : self.dict().entries) out.push_back(Value::tuple({k, v}));
  return Value::list(std::move(out));
}

Value d_keys(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("keys", args, {});
  ValueList out;
  for (const auto& entry : self.dict().entries) out.push_back(entry.first);
  return Value::list(std::move(out));
}

Value d_values(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("values", args, {});
  ValueList out;
  for (const auto& entry : self.dict().entries) out.push_back(entry.second);
  return Value::list(std::move(out));
}

Value same_copy(Evaluator&, const Value& self, CallArgs& args) {
  ArgReader("copy", args, {});
  return self;  // values never change, so a copy and the original cannot be told apart
}

// ---- list and tuple ----

Value l_index(Evaluator&, const Value& self, CallArgs& args) {
  const ArgReader a("index", args, {"value", "start", "stop"});
  const Value* x = a.get(0);
  if (x == nullptr) runtime_error("index expected at least 1 argument, got 0");
  const ValueList& items = self.items();
  const int64_t n = int64_t(items.size());
  const auto clamp = [n](int64_t i) { return i < 0 ? std::max<int64_t>(0, i + n) : std::min(i, n); };
  for (int64_t i = clamp(int_or(a.get(1), 0)); i < clamp(int_or(a.get(2), n)); ++i) {
    if (equals(items[size_t(i)], *x)) return i;
  }
  runtime_error(fmt::format("{} is not in list", repr(*x)));
}

Value l_count(Evaluator&, const Value& self, CallArgs& args) {
  const ArgReader a("count", args, {"value"});
  const Value* x = a.get(0);
  if (x == nullptr) runtime_error("count() takes exactly one argument (0 given)");
  return int64_t(
      std::count_if(self.items().begin(), self.items().end(), [&](const Value& v) { return equals(v, *x); }));
}

struct MethodEntry {
  std::string_view name;
  Method method;
};

constexpr MethodEntry kStringMethods[] = {
    {"capitalize", s_capitalize},
    {"casefold", s_casefold},
    {"center", s_center},
    {"count", s_count},
    {"endswith", s_endswith},
    {"find", s_find},
    {"format", s_format},
    {"format_map", s_format_map},
    {"index", s_index},
    {"isalnum", s_is<cp_alnum>},
    {"isalpha", s_is<cp_alpha>},
    {"isdecimal", s_is<cp_digit>},
    {"isdigit", s_is<cp_digit>},
    {"islower", s_islower},
    {"isnumeric", s_is<cp_digit>},
    {"isspace", s_is<cp_space>},
    {"isupper", s_isupper},
    {"join", s_join},
    {"ljust", s_ljust},
    {"lower", s_lower},
    {"lstrip", s_lstrip},
    {"partition", s_partition},
    {"removeprefix", s_removeprefix},
    {"removesuffix", s_removesuffix},
    {"replace", s_replace},
    {"rfind", s_rfind},
    {"rindex", s_rindex},
    {"rjust", s_rjust},
    {"rpartition", s_rpartition},
    {"rsplit", s_rsplit},
    {"rstrip", s_rstrip},
    {"split", s_split},
    {"splitlines", s_splitlines},
    {"startswith", s_startswith},
    {"strip", s_strip},
    {"swapcase", s_swapcase},
    {"title", s_title},
    {"upper", s_upper},
    {"zfill", s_zfill},
};

constexpr MethodEntry kDictMethods[] = {
    {"copy", same_copy}, {"get", d_get}, {"items", d_items}, {"keys", d_keys}, {"values", d_values},
};

constexpr MethodEntry kListMethods[] = {
    {"copy", same_copy},
    {"count", l_count},
    {"index", l_index},
};

// Methods that change a list or dict: Jinja2's immutable sandbox refuses them.
constexpr std::string_view kMutatingList[] = {"append", "clear",  "extend",  "insert",
                                              "pop",    "remove", "reverse", "sort"};
constexpr std::string_view kMutatingDict[] = {"clear", "pop", "popitem", "setdefault", "update"};

template <size_t N>
const MethodEntry* find_method(const MethodEntry (&table)[N], std::string_view name) {
  for (const MethodEntry& m : table) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

// markupsafe's Markup: these methods escape their text arguments and return Markup.
constexpr std::string_view kMarkupEscaping[] = {"capitalize", "center", "ljust",  "lower", "lstrip",
                                                "replace",    "rjust",  "rstrip", "strip", "swapcase",
                                                "title",      "upper",  "zfill"};
// And these return Markup pieces (partition escapes its separator).
constexpr std::string_view kMarkupPieces[] = {"partition", "rpartition", "rsplit", "split", "splitlines"};

Value escape_text(const Value& v) { return v.is_string() && !v.is_markup() ? Value(text::html_escape(v.string())) : v; }

Value as_markup(const Value& v) {
  if (v.is_string()) return Value::markup(v.string());
  if (v.is_sequence()) {
    ValueList items;
    for (const Value& item : v.items()) items.push_back(as_markup(item));
    return v.kind() == Kind::Tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
  }
  return v;
}

Value call_on_markup(Evaluator& ev, const Value& self, Method method, std::string_view name, CallArgs& args) {
  const bool escaping =
      std::find(std::begin(kMarkupEscaping), std::end(kMarkupEscaping), name) != std::end(kMarkupEscaping);
  const bool pieces = std::find(std::begin(kMarkupPieces), std::end(kMarkupPieces), name) != std::end(kMarkupPieces);
  if (escaping || name == "partition" || name == "rpartition") {
    for (Value& v : args.positional) v = escape_text(v);
    for (auto& kw : args.keywords) kw.second = escape_text(kw.second);
  }
  const Value plain(self.string());
  if (name == "join") {  // the items are escaped
    const ArgReader a("join", args, {"iterable"});
    if (a.get(0) == nullptr) runtime_error("join() takes exactly one argument (0 given)");
    ValueList items;
    for (const Value& item : iterate(*a.get(0))) items.push_back(escape_text(item));
    CallArgs escaped;
    escaped.positional.push_back(Value::list(std::move(items)));
    return Value::markup(method(ev, plain, escaped).string());
  }
  if (name == "format" || name == "format_map") {
    return Value::markup(name == "format" ? str_format(self.string(), args, ev.max_bytes(), true)
                                          : method(ev, plain, args).string());
  }
  const Value result = method(ev, plain, args);
  return escaping || pieces ? as_markup(result) : result;
}

Value bind(const Value& self, const MethodEntry& m) {
  const Method method = m.method;
  if (self.is_markup()) {
    const std::string_view name = m.name;
    return Value::function(std::string(m.name), [self, method, name](Evaluator& ev, CallArgs& args) {
      return call_on_markup(ev, self, method, name, args);
    });
  }
  return Value::function(std::string(m.name),
                         [self, method](Evaluator& ev, CallArgs& args) { return method(ev, self, args); });
}

}  // namespace

std::string python_replace(const std::string& s, const std::string& old, const std::string& replacement, int64_t count,
                           size_t max_bytes) {
  const auto grown = [&](const std::string& out) {
    if (out.size() > max_bytes) {
      limit_error(fmt::format("replace() built more than the limit of {} bytes on template strings", max_bytes));
    }
  };
  std::string out;
  if (old.empty()) {  // Python inserts the replacement before every character and at the end
    int64_t done = 0;
    size_t pos = 0;
    for (size_t n = 0; pos < s.size() && (count < 0 || done < count); pos += n, ++done) {
      text::decode_at(s, pos, n);
      out += replacement;
      out.append(s, pos, n);
      grown(out);
    }
    if (pos < s.size()) {
      out.append(s, pos, std::string::npos);
    } else if (count < 0 || done < count) {
      out += replacement;
    }
    grown(out);
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  for (size_t at = s.find(old); at != std::string::npos && (count < 0 || done < count); at = s.find(old, start)) {
    out.append(s, start, at - start);
    out += replacement;
    grown(out);
    start = at + old.size();
    ++done;
  }
  out.append(s, start, std::string::npos);
  grown(out);
  return out;
}

std::optional<Value> bound_method(const Value& self, std::string_view name) {
  const auto unsafe = [&]() {
    return Value::undefined(fmt::format("access to attribute '{}' of '{}' object is unsafe.", name, type_name(self)));
  };
  switch (self.kind()) {
    case Kind::String:
      if (const MethodEntry* m = find_method(kStringMethods, name)) return bind(self, *m);
      return std::nullopt;
    case Kind::Dict:
      if (const MethodEntry* m = find_method(kDictMethods, name)) return bind(self, *m);
      if (std::find(std::begin(kMutatingDict), std::end(kMutatingDict), name) != std::end(kMutatingDict)) {
        return unsafe();
      }
      return std::nullopt;
    case Kind::List:
    case Kind::Tuple:
      if (const MethodEntry* m = find_method(kListMethods, name)) {
        if (self.kind() == Kind::Tuple && name == "copy") return std::nullopt;
        return bind(self, *m);
      }
      if (self.kind() == Kind::List &&
          std::find(std::begin(kMutatingList), std::end(kMutatingList), name) != std::end(kMutatingList)) {
        return unsafe();
      }
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

}  // namespace vkgraph::jinja
