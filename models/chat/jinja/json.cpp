// json.dumps semantics (CPython's json module): see json.h.

#include "models/chat/jinja/json.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/chat/jinja/error.h"
#include "models/chat/jinja/operations.h"
#include "models/chat/jinja/text.h"

namespace vkgraph::jinja {

namespace {

void quote(std::string& out, std::string_view s, bool ensure_ascii) {
  out += '"';
  for (size_t pos = 0, n = 0; pos < s.size(); pos += n) {
    const uint32_t c = text::decode_at(s, pos, n);
    switch (c) {
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      case '\b':
        out += "\\b";
        continue;
      case '\f':
        out += "\\f";
        continue;
      default:
        break;
    }
    if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else if (c < 0x80 || !ensure_ascii) {
      out.append(s.substr(pos, n));
    } else if (c <= 0xFFFF) {
      out += fmt::format("\\u{:04x}", c);
    } else {  // a surrogate pair
      const uint32_t v = c - 0x10000;
      out += fmt::format("\\u{:04x}\\u{:04x}", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF));
    }
  }
  out += '"';
}

std::string float_json(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v < 0 ? "-Infinity" : "Infinity";
  return text::float_repr(v);
}

class Writer {
 public:
  Writer(const JsonOptions& o, size_t max_bytes)
      : o_(o),
        max_bytes_(max_bytes),
        item_sep_(o.item_separator.value_or(o.indent ? "," : ", ")),
        key_sep_(o.key_separator.value_or(": ")) {}

  void value(const Value& v, int depth) {
    if (depth > 400) limit_error("a value contains itself or nests too deeply to write as JSON");
    switch (v.kind()) {
      case Kind::None:
        out_ += "null";
        break;
      case Kind::Bool:
        out_ += v.boolean() ? "true" : "false";
        break;
      case Kind::Int:
        out_ += std::to_string(v.integer());
        break;
      case Kind::Float:
        out_ += float_json(v.real());
        break;
      case Kind::String:
        quote(out_, v.string(), o_.ensure_ascii);
        break;
      case Kind::List:
      case Kind::Tuple:
        array(v.items(), depth);
        break;
      case Kind::Dict:
        object(v.dict(), depth);
        break;
      default:
        runtime_error(fmt::format("Object of type {} is not JSON serializable", type_name(v)));
    }
    if (out_.size() > max_bytes_) {
      limit_error(fmt::format("tojson built more than the limit of {} bytes on template strings", max_bytes_));
    }
  }

  std::string take() { return std::move(out_); }

 private:
  void newline(int level) {
    if (!o_.indent) return;
    out_ += '\n';
    for (int i = 0; i < level; ++i) out_ += *o_.indent;
    if (out_.size() > max_bytes_) limit_error("tojson's indentation exceeds the limit on template strings");
  }

  void array(const ValueList& items, int depth) {
    if (items.empty()) {
      out_ += "[]";
      return;
    }
    out_ += '[';
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out_ += item_sep_;
      newline(depth + 1);
      value(items[i], depth + 1);
    }
    newline(depth);
    out_ += ']';
  }

  static std::string key_text(const Value& k) {
    switch (k.kind()) {
      case Kind::String:
        return k.string();
      case Kind::Int:
        return std::to_string(k.integer());
      case Kind::Float:
        return float_json(k.real());
      case Kind::Bool:
        return k.boolean() ? "true" : "false";
      case Kind::None:
        return "null";
      default:
        runtime_error(fmt::format("keys must be str, int, float, bool or None, not {}", type_name(k)));
    }
  }

  void object(const Dict& d, int depth) {
    if (d.entries.empty()) {
      out_ += "{}";
      return;
    }
    std::vector<const std::pair<Value, Value>*> order;
    for (const auto& entry : d.entries) order.push_back(&entry);
    if (o_.sort_keys) {
      // Python sorts the keys themselves, so mixed key types fail as they would there.
      std::stable_sort(order.begin(), order.end(),
                       [](const auto* a, const auto* b) { return less(a->first, b->first); });
    }
    out_ += '{';
    for (size_t i = 0; i < order.size(); ++i) {
      if (i > 0) out_ += item_sep_;
      newline(depth + 1);
      quote(out_, key_text(order[i]->first), o_.ensure_ascii);
      out_ += key_sep_;
      value(order[i]->second, depth + 1);
    }
    newline(depth);
    out_ += '}';
  }

  const JsonOptions& o_;
  size_t max_bytes_;
  std::string item_sep_, key_sep_;
  std::string out_;
};

Value from_json_at(const nlohmann::ordered_json& j, int depth) {
  // Deeper than a value may nest anyway; stops the recursion before the stack is at risk.
  if (depth > 200) limit_error("JSON input nests deeper than 200 levels");
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return Value::none();
    case nlohmann::ordered_json::value_t::boolean:
      return j.get<bool>();
    case nlohmann::ordered_json::value_t::number_integer:
      return j.get<int64_t>();
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = j.get<uint64_t>();
      return u <= uint64_t(INT64_MAX) ? Value(int64_t(u)) : Value(double(u));
    }
    case nlohmann::ordered_json::value_t::number_float:
      return j.get<double>();
    case nlohmann::ordered_json::value_t::string:
      return j.get<std::string>();
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      for (const auto& item : j) items.push_back(from_json_at(item, depth + 1));
      return Value::list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (const auto& [key, item] : j.items()) d.entries.emplace_back(Value(key), from_json_at(item, depth + 1));
      return Value::dict(std::move(d));
    }
    default:
      return Value::undefined("a binary JSON value");
  }
}

}  // namespace

std::string to_json(const Value& v, const JsonOptions& options, size_t max_bytes) {
  Writer w(options, max_bytes);
  w.value(v, 0);
  return w.take();
}

Value from_json(const nlohmann::ordered_json& j) { return from_json_at(j, 0); }

}  // namespace vkgraph::jinja
