// The template language case by case against python3-jinja2 (set up as Hugging Face sets it up):
// whitespace control, expressions, filters, tests, loops, scoping, macros, Markup and generators,
// and the errors both must raise. The cases are in tests/data/jinja-features.txt; a few that need
// bytes a text file cannot hold (carriage returns, trailing newlines) are here.

#include <catch2/catch_test_macros.hpp>

#include <fstream>
#include <sstream>

#include "tests/jinja_reference_support.h"

using namespace vkgraph::testing;
using json = nlohmann::ordered_json;

namespace {

struct FeatureCase {
  std::string name;
  std::string source;
};

std::vector<FeatureCase> read_cases() {
  const std::string path = std::string(VKGRAPH_SOURCE_DIR) + "/tests/data/jinja-features.txt";
  std::ifstream in(path);
  REQUIRE(in.good());
  std::vector<FeatureCase> cases;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("#### ", 0) == 0) {
      if (!cases.empty() && !cases.back().source.empty()) cases.back().source.pop_back();  // the newline before
      cases.push_back({line.substr(5), ""});
    } else if (!cases.empty()) {
      cases.back().source += line + "\n";
    }
  }
  if (!cases.empty() && !cases.back().source.empty()) cases.back().source.pop_back();
  return cases;
}

json variables() {
  const json users = json::array({{{"name", "Ann"}, {"age", 30}, {"role", "admin"}},
                                  {{"name", "bob"}, {"age", 25}, {"role", "user"}},
                                  {{"name", "Cid"}, {"age", 35}}});
  const json messages = json::array({{{"role", "system"}, {"content", "Be brief."}},
                                     {{"role", "user"}, {"content", "  Hi there  "}},
                                     {{"role", "assistant"}, {"content", "Hello!"}},
                                     {{"role", "user"}, {"content", "Bye"}}});
  return {{"xs", {1, 2, 3}},
          {"d", {{"a", 1}, {"b", 2}, {"c", {1, 2}}}},
          {"s", "hello"},
          {"u", "caf\u00e9 \u4e16\u754c \U0001F600"},
          {"n", nullptr},
          {"t", true},
          {"f", 1.5},
          {"empty", json::array()},
          {"nested", {{"a", {{"b", {{"c", "deep"}}}}}}},
          {"users", users},
          {"messages", messages},
          {"text", "  Line one\n\tLine two  \n\nLine four "},
          {"html", "<b>\"x\" & 'y'</b>"},
          {"bos", "<s>"},
          {"eos", "</s>"},
          {"add_generation_prompt", true}};
}

}  // namespace

TEST_CASE("jinja: the template language case by case as python3-jinja2 renders it", "[jinja]") {
  std::vector<FeatureCase> cases = read_cases();
  REQUIRE(cases.size() >= 75);
  // Line endings and trailing newlines, which Jinja2 normalizes (\r\n and \r become \n, one
  // trailing newline of the template is dropped).
  cases.push_back({"a trailing newline", "x\n"});
  cases.push_back({"two trailing newlines", "x\n\n"});
  cases.push_back({"CRLF line endings", "{% if t %}\r\n  a\r\n{% endif %}\r\nb\r\n"});
  cases.push_back({"CR line endings", "a\r{% if t %}\rb{% endif %}\r"});
  cases.push_back({"a string with a CRLF inside", "{{ 'x\r\ny' }}"});

  const json vars = variables();
  std::vector<std::string> sources;
  std::vector<ReferenceCase> reference_cases;
  for (size_t i = 0; i < cases.size(); ++i) {
    sources.push_back(cases[i].source);
    reference_cases.push_back({i, vars});
  }
  const std::vector<Rendered> reference = render_with_jinja2(sources, reference_cases);
  size_t rendered = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Rendered ours = render_with_vkgraph(cases[i].source, vars);
    INFO("case '" << cases[i].name << "'\n--- template\n"
                  << cases[i].source << "\n--- python3-jinja2 " << (reference[i].ok ? "" : "(error) ")
                  << reference[i].text << "\n--- vkgraph " << (ours.ok ? "" : "(error) ") << ours.text);
    CHECK(same_outcome(ours, reference[i]));
    rendered += reference[i].ok ? 1 : 0;
  }
  // About thirty cases are errors on purpose (named so in the file); the others compare output.
  CHECK(rendered >= 50);
}
