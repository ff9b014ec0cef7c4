// Python's %-formatting and str.format (see formatting.h). Floats go through C's printf, whose
// %f/%e/%g output Python's equals for finite values; Python spells inf and nan itself.

#include "models/chat/jinja/formatting.h"

#include <cmath>
#include <cstdio>
#include <optional>

#include <fmt/format.h>

#include "models/chat/jinja/error.h"
#include "models/chat/jinja/operations.h"
#include "models/chat/jinja/text.h"

namespace vkgraph::jinja {

namespace {

struct Spec {
  std::string fill = " ";
  char align = 0;  // '<', '>', '^', '=' or 0 (the type's default)
  char sign = '-';
  bool alternate = false;
  char grouping = 0;
  int64_t width = 0;
  std::optional<int64_t> precision;
  char type = 0;
};

void check_width(int64_t width, size_t max_bytes) {
  if (width < 0 || uint64_t(width) > max_bytes) {
    limit_error(
        fmt::format("a format width of {} exceeds the limit of {} bytes on template strings", width, max_bytes));
  }
}

std::string pad(const std::string& body, const Spec& spec, char default_align, size_t sign_length = 0) {
  const int64_t len = int64_t(text::length(body));
  if (len >= spec.width) return body;
  const size_t missing = size_t(spec.width - len);
  const auto fill = [&](size_t n) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += spec.fill;
    return out;
  };
  switch (spec.align ? spec.align : default_align) {
    case '<':
      return body + fill(missing);
    case '^':
      return fill(missing / 2) + body + fill(missing - missing / 2);
    case '=':
      return body.substr(0, sign_length) + fill(missing) + body.substr(sign_length);
    default:
      return fill(missing) + body;
  }
}

std::string group_thousands(const std::string& digits, char separator) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += separator;
    out += digits[i];
  }
  return out;
}

std::string c_float(double v, char type, int64_t precision, bool alternate) {
  if (std::isnan(v)) return std::isupper(uint8_t(type)) ? "NAN" : "nan";
  if (std::isinf(v)) return std::string(v < 0 ? "-" : "") + (std::isupper(uint8_t(type)) ? "INF" : "inf");
  const std::string format = std::string("%") + (alternate ? "#" : "") + ".*" + type;
  const int n = std::snprintf(nullptr, 0, format.c_str(), int(precision), v);
  std::string out(size_t(std::max(n, 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, format.c_str(), int(precision), v);
  return out;
}

std::string sign_prefix(bool negative, char sign) {
  if (negative) return "-";
  if (sign == '+') return "+";
  if (sign == ' ') return " ";
  return "";
}

std::string format_integer(int64_t i, const Spec& spec) {
  const bool negative = i < 0;
  const uint64_t magnitude = negative ? uint64_t(0) - uint64_t(i) : uint64_t(i);
  std::string digits, prefix;
  switch (spec.type) {
    case 'x':
      digits = fmt::format("{:x}", magnitude);
      prefix = "0x";
      break;
    case 'X':
      digits = fmt::format("{:X}", magnitude);
      prefix = "0X";
      break;
    case 'o':
      digits = fmt::format("{:o}", magnitude);
      prefix = "0o";
      break;
    case 'b':
      digits = fmt::format("{:b}", magnitude);
      prefix = "0b";
      break;
    default:
      digits = std::to_string(magnitude);
      break;
  }
  if (spec.grouping) digits = group_thousands(digits, spec.grouping);
  const std::string head = sign_prefix(negative, spec.sign) + (spec.alternate ? prefix : "");
  return pad(head + digits, spec, '>', head.size());
}

std::string format_float(double v, const Spec& spec) {
  char type = spec.type;
  int64_t precision = spec.precision.value_or(6);
  double x = v;
  bool percent = false;
  if (type == '%') {
    x *= 100;
    type = 'f';
    percent = true;
  }
  std::string body;
  if (type == 0 && !spec.precision) {
    body = text::float_repr(std::fabs(x));
  } else if (type == 0) {
    body = c_float(std::fabs(x), 'g', std::max<int64_t>(precision, 1), spec.alternate);
    if (body.find_first_of(".einf") == std::string::npos) body += ".0";
  } else {
    body = c_float(std::fabs(x), type, precision, spec.alternate);
  }
  if (spec.grouping) {
    const size_t end = body.find_first_not_of("0123456789");
    body = group_thousands(body.substr(0, end), spec.grouping) + (end == std::string::npos ? "" : body.substr(end));
  }
  if (percent) body += '%';
  const std::string head = sign_prefix(std::signbit(x) && !std::isnan(x), spec.sign);
  return pad(head + body, spec, '>', head.size());
}

Spec parse_spec(const std::string& s, size_t max_bytes) {
  Spec spec;
  const std::vector<size_t> at = text::offsets(s);
  const size_t n = at.size() - 1;
  size_t i = 0;  // in code points
  const auto cp = [&](size_t k) { return s.substr(at[k], at[k + 1] - at[k]); };
  const auto is_align = [](std::string_view c) { return c == "<" || c == ">" || c == "^" || c == "="; };
  if (n >= 2 && is_align(cp(1))) {
    spec.fill = cp(0);
    spec.align = cp(1)[0];
    i = 2;
  } else if (n >= 1 && is_align(cp(0))) {
    spec.align = cp(0)[0];
    i = 1;
  }
  const auto ch = [&]() { return i < n ? s[at[i]] : '\0'; };
  if (ch() == '+' || ch() == '-' || ch() == ' ') spec.sign = s[at[i++]];
  if (ch() == '#') {
    spec.alternate = true;
    ++i;
  }
  if (ch() == '0') {
    if (!spec.align) {
      spec.fill = "0";
      spec.align = '=';
    }
    ++i;
  }
  const auto number = [&]() {
    int64_t v = 0;
    while (ch() >= '0' && ch() <= '9') {
      v = v * 10 + (ch() - '0');
      check_width(v, max_bytes);
      ++i;
    }
    return v;
  };
  spec.width = number();
  if (ch() == ',' || ch() == '_') spec.grouping = s[at[i++]];
  if (ch() == '.') {
    ++i;
    if (!(ch() >= '0' && ch() <= '9')) runtime_error("Format specifier missing precision");
    spec.precision = number();
  }
  if (i < n) spec.type = s[at[i++]];
  if (i < n) runtime_error(fmt::format("Invalid format specifier '{}'", s));
  return spec;
}

}  // namespace

std::string format_value(const Value& v, const std::string& spec_text, size_t max_bytes) {
  if (spec_text.empty()) return to_string(v);
  const Spec spec = parse_spec(spec_text, max_bytes);
  if (v.is_string()) {
    if (spec.type != 0 && spec.type != 's') {
      runtime_error(fmt::format("Unknown format code '{}' for object of type 'str'", spec.type));
    }
    std::string body = v.string();
    if (spec.precision && int64_t(text::length(body)) > *spec.precision) {
      body = body.substr(0, text::offsets(body)[size_t(*spec.precision)]);
    }
    return pad(body, spec, '<');
  }
  if (v.is_integral()) {
    if (std::string_view("eEfFgG%").find(spec.type) != std::string_view::npos && spec.type != 0) {
      return format_float(double(v.integer()), spec);
    }
    if (spec.type == 'c') {
      std::string c;
      text::append_utf8(c, uint32_t(v.integer()));
      return pad(c, spec, '<');
    }
    if (spec.type != 0 && std::string_view("dbxXon").find(spec.type) == std::string_view::npos) {
      runtime_error(fmt::format("Unknown format code '{}' for object of type 'int'", spec.type));
    }
    return format_integer(v.integer(), spec);
  }
  if (v.is_float()) {
    if (spec.type != 0 && std::string_view("eEfFgGn%").find(spec.type) == std::string_view::npos) {
      runtime_error(fmt::format("Unknown format code '{}' for object of type 'float'", spec.type));
    }
    return format_float(v.real(), spec);
  }
  runtime_error(fmt::format("unsupported format string passed to {}.__format__", type_name(v)));
}

std::string str_format(const std::string& format, const CallArgs& args, size_t max_bytes, bool escape_args) {
  std::string out;
  size_t next_auto = 0;
  for (size_t i = 0; i < format.size();) {
    const char c = format[i];
    if (c == '}') {
      if (i + 1 < format.size() && format[i + 1] == '}') {
        out += '}';
        i += 2;
        continue;
      }
      runtime_error("Single '}' encountered in format string");
    }
    if (c != '{') {
      out += c;
      ++i;
      continue;
    }
    if (i + 1 < format.size() && format[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    const size_t close = format.find('}', i);
    if (close == std::string::npos) runtime_error("Single '{' encountered in format string");
    std::string field = format.substr(i + 1, close - i - 1);
    i = close + 1;
    std::string spec, conversion;
    if (const size_t colon = field.find(':'); colon != std::string::npos) {
      spec = field.substr(colon + 1);
      field.resize(colon);
    }
    if (const size_t bang = field.find('!'); bang != std::string::npos) {
      conversion = field.substr(bang + 1);
      field.resize(bang);
    }
    // The argument: by position (explicit or automatic) or by name, then .attr / [key] lookups.
    const size_t path = field.find_first_of(".[");
    const std::string head = field.substr(0, path);
    Value v;
    if (head.empty() || std::all_of(head.begin(), head.end(), [](char d) { return d >= '0' && d <= '9'; })) {
      const size_t index = head.empty() ? next_auto++ : size_t(std::stoull(head.substr(0, 9)));
      if (index >= args.positional.size()) {
        runtime_error(fmt::format("Replacement index {} out of range for positional args tuple", index));
      }
      v = args.positional[index];
    } else {
      const auto it =
          std::find_if(args.keywords.begin(), args.keywords.end(), [&](const auto& kw) { return kw.first == head; });
      if (it == args.keywords.end()) runtime_error(fmt::format("'{}'", head));
      v = it->second;
    }
    for (size_t p = path; p != std::string::npos && p < field.size();) {
      if (field[p] == '.') {
        const size_t end = field.find_first_of(".[", p + 1);
        v = get_attribute(v, field.substr(p + 1, end == std::string::npos ? std::string::npos : end - p - 1));
        p = end;
      } else {
        const size_t end = field.find(']', p);
        if (end == std::string::npos) runtime_error("Missing ']' in format string");
        const std::string key = field.substr(p + 1, end - p - 1);
        const bool numeric =
            !key.empty() && std::all_of(key.begin(), key.end(), [](char d) { return d >= '0' && d <= '9'; });
        v = get_item(v, numeric ? Value(int64_t(std::stoll(key.substr(0, 18)))) : Value(key));
        p = end + 1;
      }
    }
    if (conversion == "r" || conversion == "a") {
      v = repr(v);
    } else if (conversion == "s") {
      v = to_string(v);
    } else if (!conversion.empty()) {
      runtime_error(fmt::format("Unknown conversion specifier {}", conversion));
    }
    const std::string field_text = format_value(v, spec, max_bytes);
    out += escape_args && !v.is_markup() ? text::html_escape(field_text) : field_text;
    if (out.size() > max_bytes) limit_error(fmt::format("a formatted string exceeds the limit of {} bytes", max_bytes));
  }
  return out;
}

std::string percent_format(const std::string& format, const Value& args, size_t max_bytes, bool escape_args) {
  const ValueList positional = args.kind() == Kind::Tuple ? args.items() : ValueList{args};
  const bool mapping = args.is_dict();
  size_t next = 0;
  const auto take = [&]() -> const Value& {
    if (next >= positional.size()) runtime_error("not enough arguments for format string");
    return positional[next++];
  };
  std::string out;
  for (size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      out += format[i++];
      continue;
    }
    ++i;
    if (i >= format.size()) runtime_error("incomplete format");
    Value arg;
    bool have_arg = false;
    if (format[i] == '(') {
      const size_t close = format.find(')', i);
      if (close == std::string::npos || !mapping) runtime_error("format requires a mapping");
      const Value* found = args.dict().find(std::string_view(format).substr(i + 1, close - i - 1));
      if (found == nullptr) runtime_error(fmt::format("'{}'", format.substr(i + 1, close - i - 1)));
      arg = *found;
      have_arg = true;
      i = close + 1;
    }
    Spec spec;
    bool left = false, zero = false;
    for (; i < format.size() && std::string_view("-+ #0").find(format[i]) != std::string_view::npos; ++i) {
      switch (format[i]) {
        case '-':
          left = true;
          break;
        case '+':
          spec.sign = '+';
          break;
        case ' ':
          if (spec.sign != '+') spec.sign = ' ';
          break;
        case '#':
          spec.alternate = true;
          break;
        default:
          zero = true;
          break;
      }
    }
    const auto number = [&]() -> int64_t {
      if (i < format.size() && format[i] == '*') {
        ++i;
        const Value& w = take();
        if (!w.is_integral()) runtime_error("* wants int");
        return w.integer();
      }
      int64_t v = 0;
      while (i < format.size() && format[i] >= '0' && format[i] <= '9') {
        v = v * 10 + (format[i++] - '0');
        check_width(v, max_bytes);
      }
      return v;
    };
    spec.width = number();
    if (spec.width < 0) {
      left = true;
      spec.width = -spec.width;
    }
    check_width(spec.width, max_bytes);
    if (i < format.size() && format[i] == '.') {
      ++i;
      spec.precision = number();
    }
    while (i < format.size() && (format[i] == 'h' || format[i] == 'l' || format[i] == 'L')) ++i;
    if (i >= format.size()) runtime_error("incomplete format");
    const char type = format[i++];
    if (type == '%') {
      out += '%';
      continue;
    }
    if (!have_arg) arg = mapping ? args : take();
    spec.align = left ? '<' : (zero && type != 's' && type != 'r' && type != 'a' && type != 'c') ? '=' : '>';
    if (spec.align == '=') spec.fill = "0";
    std::string piece;
    switch (type) {
      case 's':
      case 'r':
      case 'a': {
        std::string s = type == 's' ? to_string(arg) : repr(arg);
        if (escape_args && !arg.is_markup()) s = text::html_escape(s);
        if (spec.precision && int64_t(text::length(s)) > *spec.precision) {
          s = s.substr(0, text::offsets(s)[size_t(*spec.precision)]);
        }
        piece = pad(s, spec, '>');
        break;
      }
      case 'd':
      case 'i':
      case 'u':
      case 'x':
      case 'X':
      case 'o': {
        int64_t n = 0;
        if (arg.is_integral()) {
          n = arg.integer();
        } else if (arg.is_float() && (type == 'd' || type == 'i' || type == 'u') && std::isfinite(arg.real()) &&
                   std::fabs(arg.real()) < 9.2e18) {
          n = int64_t(arg.real());
        } else {
          runtime_error(fmt::format("%{} format: a real number is required, not {}", type, type_name(arg)));
        }
        spec.type = (type == 'x' || type == 'X' || type == 'o') ? type : 'd';
        piece = format_integer(n, spec);
        break;
      }
      case 'e':
      case 'E':
      case 'f':
      case 'F':
      case 'g':
      case 'G':
        if (!arg.is_number()) runtime_error(fmt::format("must be real number, not {}", type_name(arg)));
        spec.type = type;
        piece = format_float(arg.real(), spec);
        break;
      case 'c': {
        std::string c;
        if (arg.is_integral()) {
          text::append_utf8(c, uint32_t(arg.integer()));
        } else if (arg.is_string() && text::length(arg.string()) == 1) {
          c = arg.string();
        } else {
          runtime_error("%c requires int or char");
        }
        piece = pad(c, spec, '>');
        break;
      }
      default:
        runtime_error(fmt::format("unsupported format character '{}'", type));
    }
    out += piece;
    if (out.size() > max_bytes) limit_error(fmt::format("a formatted string exceeds the limit of {} bytes", max_bytes));
  }
  if (!mapping && next < positional.size() && args.kind() == Kind::Tuple) {
    runtime_error("not all arguments converted during string formatting");
  }
  if (!mapping && args.kind() != Kind::Tuple && next == 0) {
    runtime_error("not all arguments converted during string formatting");
  }
  return out;
}

}  // namespace vkgraph::jinja
