// The Jinja interpreter on what no reference renders: hostile templates end with a Limit error
// (never a hang, a crash or a leak), errors name their line and column, and rendering is
// repeatable. What python3-jinja2 can judge is in test_jinja_features.cpp.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <string>
#include <thread>

#include "models/chat/jinja/json.h"
#include "models/chat/jinja/template.h"

using namespace vkgraph::jinja;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string render(const std::string& source, const Limits& limits = {}) {
  Dict vars;
  vars.set(Value("xs"), Value::list({Value(int64_t(1)), Value(int64_t(2)), Value(int64_t(3))}));
  return Template::parse(source, limits).render(vars, 0);
}

// The error `source` fails with (parsing or rendering); fails the test when it renders.
Error error_of(const std::string& source, const Limits& limits = {}) {
  try {
    const std::string out = render(source, limits);
    FAIL("rendered instead of failing: " << out.substr(0, 200));
  } catch (const Error& e) {
    return e;
  }
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("jinja: syntax errors name the line and column", "[jinja]") {
  const Error unknown = error_of("line one\n  {{ xs | no_such_filter }}");
  CHECK(unknown.kind() == ErrorKind::Syntax);
  CHECK(unknown.line() == 2);
  CHECK(unknown.column() == 11);  // the filter's name
  CHECK_THAT(std::string(unknown.what()),
             ContainsSubstring("line 2, column 11") && ContainsSubstring("no_such_filter"));

  const Error unclosed = error_of("{% for x in xs %}\n{{ x }}\n");
  CHECK(unclosed.kind() == ErrorKind::Syntax);
  CHECK(unclosed.line() == 1);  // the tag that was never closed
  CHECK_THAT(unclosed.message(), ContainsSubstring("endfor"));

  const Error string = error_of("ok\nok {{ 'abc }}");
  CHECK(string.line() == 2);
  CHECK_THAT(string.message(), ContainsSubstring("unterminated string"));

  const Error utf8 = error_of("ab\ncd\xff");
  CHECK(utf8.kind() == ErrorKind::Syntax);
  CHECK(utf8.line() == 2);
  CHECK(utf8.column() == 3);
}

TEST_CASE("jinja: runtime errors name the expression and raise_exception its message", "[jinja]") {
  const Error division = error_of("a\nb {{ 1 + 2 }}\n   {{ xs[0] / 0 }}");
  CHECK(division.kind() == ErrorKind::Runtime);
  CHECK(division.line() == 3);
  CHECK_THAT(division.message(), ContainsSubstring("division by zero"));

  const Error undefined = error_of("{{ nope.attr }}");
  CHECK(undefined.kind() == ErrorKind::Runtime);
  CHECK_THAT(undefined.message(), ContainsSubstring("'nope' is undefined"));

  const Error raised = error_of("{% if true %}{{ raise_exception('Roles must alternate') }}{% endif %}");
  CHECK(raised.kind() == ErrorKind::Raised);
  CHECK(raised.message() == "Roles must alternate");
}

TEST_CASE("jinja: hostile templates stop at their limits", "[jinja]") {
  Limits small;
  small.max_steps = 100'000;
  small.max_bytes = 1 << 20;

  // Work: nested loops, a 10^10-step template.
  CHECK(error_of("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", small).kind() ==
        ErrorKind::Limit);
  // Size: checked before the bytes are built.
  CHECK(error_of("{{ 'x' * 1000000000000 }}", small).kind() == ErrorKind::Limit);
  CHECK(
      error_of("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", small)
          .kind() == ErrorKind::Limit);
  CHECK(error_of("{% for i in range(90000) %}{{ 'abcdefghijklmnop' }}{% endfor %}", small).kind() == ErrorKind::Limit);
  CHECK(error_of("{{ '{:>100000000}'.format(1) }}", small).kind() == ErrorKind::Limit);
  CHECK(error_of("{{ [[[[1]]]]|tojson(indent=100000000) }}", small).kind() == ErrorKind::Limit);
  // Depth: unbounded recursion, and trees too tall to walk.
  CHECK(error_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}").kind() == ErrorKind::Limit);
  CHECK(error_of("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}").kind() == ErrorKind::Syntax);
  std::string chain = "{{ 1";
  for (int i = 0; i < 20000; ++i) chain += " ~ 1 + 1";
  CHECK(error_of(chain + " }}").kind() == ErrorKind::Syntax);
  CHECK(error_of(std::string(3000, '-').insert(0, "{{ ") + "1 }}").kind() == ErrorKind::Syntax);
  CHECK(
      error_of("{% set ns = namespace(x=[]) %}{% for i in range(1000) %}{% set ns.x = [ns.x] %}{% endfor %}").kind() ==
      ErrorKind::Limit);
  // A namespace that holds itself prints as a limit, not as endless recursion.
  CHECK(error_of("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}").kind() == ErrorKind::Limit);
  // Python's integers grow; these are 64-bit and say so.
  CHECK_THAT(error_of("{{ 9223372036854775807 + 1 }}").message(), ContainsSubstring("64 bits"));
  // The source itself.
  CHECK(error_of(std::string(Template::kMaxSourceBytes + 1, 'x')).kind() == ErrorKind::Limit);
}

TEST_CASE("jinja: values that hold their own scope are freed, and renders repeat exactly", "[jinja]") {
  // A macro stored in a namespace that its own scope holds: a reference cycle the evaluator breaks
  // after the run (the ASan build's leak checker fails this test otherwise).
  const Template t = Template::parse(
      "{% macro m() %}{{ ns.x }}{% endmacro %}{% set ns = namespace(m=m, x=1) %}{% set ns.self = ns %}"
      "{{ ns.m() }}{% set g = xs|map('string') %}{{ g|join }}{{ g|join }}");
  Dict vars;
  vars.set(Value("xs"), Value::list({Value(int64_t(1)), Value(int64_t(2))}));
  const std::string first = t.render(vars, 0);
  CHECK(first == "112");
  CHECK(t.render(vars, 0) == first);  // a generator consumed in one run is fresh in the next

  // One parsed template rendered from several threads at once, as C API contexts may.
  std::string outputs[4];
  std::thread threads[4];
  for (int i = 0; i < 4; ++i) {
    threads[i] = std::thread([&, i] {
      for (int k = 0; k < 50; ++k) outputs[i] = t.render(vars, 0);
    });
  }
  for (auto& th : threads) th.join();
  for (const std::string& out : outputs) CHECK(out == first);
}

TEST_CASE("jinja: JSON variables keep key order and refuse absurd nesting", "[jinja]") {
  const auto j = nlohmann::ordered_json::parse(R"({"z": 1, "a": [true, null, 2.5, "x"], "m": {"k": "v"}})");
  Dict vars;
  vars.set(Value("v"), from_json(j));
  CHECK(Template::parse("{{ v|tojson }} {{ v.z }}{{ v.a[2] }}").render(vars, 0) ==
        R"({"z": 1, "a": [true, null, 2.5, "x"], "m": {"k": "v"}} 12.5)");
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "[";
  for (int i = 0; i < 300; ++i) deep += "]";
  CHECK_THROWS_AS(from_json(nlohmann::ordered_json::parse(deep)), Error);
}
