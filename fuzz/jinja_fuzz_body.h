#pragma once
// The jinja target's body: any text as a template, parsed and rendered with a conversation and a
// few values of every type, under small limits (a run stays within milliseconds).
// Input: the template text, then 0-separated messages (first byte: the role, as in
// chat_fuzz_body.h); the last byte's bits pick add_generation_prompt and enable_thinking.
// Properties: parsing succeeds or fails with a Syntax or Limit error, a Syntax error has a
// position; rendering succeeds or fails with a Runtime, Raised or Limit error (never an internal
// one), a Runtime error has a position; the output stays within the output limit; rendering is
// deterministic (twice, the same bytes or the same error).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "models/chat/jinja/template.h"

namespace vkgraph::fuzz {

inline jinja::Limits jinja_fuzz_limits() {
  jinja::Limits limits;
  limits.max_bytes = size_t(1) << 20;
  limits.max_steps = 200'000;
  limits.max_depth = 200;
  return limits;
}

inline jinja::Dict jinja_fuzz_variables(std::string_view rest, uint8_t flags) {
  using jinja::Value;
  jinja::ValueList messages;
  size_t start = 0;
  while (start < rest.size()) {
    size_t end = rest.find('\0', start);
    if (end == std::string_view::npos) end = rest.size();
    std::string_view part = rest.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    static constexpr const char* kRoles[] = {"system", "user", "assistant", "tool"};
    jinja::Dict m;
    m.entries.emplace_back(Value("role"), Value(kRoles[uint8_t(part[0]) % 4]));
    m.entries.emplace_back(Value("content"), Value(part.substr(1)));
    messages.push_back(Value::dict(std::move(m)));
  }
  jinja::Dict d;
  d.entries.emplace_back(Value("a"), Value(int64_t(1)));
  d.entries.emplace_back(Value("b"), Value::list({Value(2.5), Value("x"), Value::none()}));
  jinja::Dict vars;
  vars.set(Value("messages"), Value::list(std::move(messages)));
  vars.set(Value("add_generation_prompt"), Value(bool(flags & 1)));
  if (flags & 2) vars.set(Value("enable_thinking"), Value(bool(flags & 4)));
  vars.set(Value("bos_token"), Value("<s>"));
  vars.set(Value("eos_token"), Value("</s>"));
  vars.set(Value("tools"), Value::none());
  vars.set(Value("xs"), Value::list({Value(int64_t(1)), Value(int64_t(2)), Value(int64_t(3))}));
  vars.set(Value("d"), Value::dict(std::move(d)));
  vars.set(Value("s"), Value("h\xC3\xA9llo"));
  return vars;
}

inline void jinja_fuzz_one(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = input.find('\0');
  const std::string_view source = input.substr(0, split);
  const std::string_view rest = split == std::string_view::npos ? std::string_view() : input.substr(split + 1);
  const jinja::Limits limits = jinja_fuzz_limits();

  std::optional<jinja::Template> tmpl;
  try {
    tmpl = jinja::Template::parse(source, limits);
  } catch (const jinja::Error& e) {
    require(e.kind() == jinja::ErrorKind::Syntax || e.kind() == jinja::ErrorKind::Limit,
            "parsing fails with a syntax or limit error only");
    require(e.kind() != jinja::ErrorKind::Syntax || e.has_position(), "a syntax error names its line and column");
    return;
  }

  const jinja::Dict vars = jinja_fuzz_variables(rest, size > 0 ? data[size - 1] : 0);
  const auto render = [&]() -> std::pair<bool, std::string> {
    try {
      std::string out = tmpl->render(vars, 1741947630);  // a fixed clock: 2025-03-14
      require(out.size() <= limits.max_bytes, "the output stays within the output limit");
      return {true, std::move(out)};
    } catch (const jinja::Error& e) {
      require(e.kind() == jinja::ErrorKind::Runtime || e.kind() == jinja::ErrorKind::Raised ||
                  e.kind() == jinja::ErrorKind::Limit,
              "rendering fails with a runtime, raised or limit error, never an internal one");
      require(e.kind() != jinja::ErrorKind::Runtime || e.has_position(), "a runtime error names its line and column");
      return {false, e.message()};
    }
  };
  const auto first = render();
  const auto second = render();
  require(first == second, "rendering is deterministic");
}

}  // namespace vkgraph::fuzz
