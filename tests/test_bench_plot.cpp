// `vkgraph bench --plot`: the SVG parses as XML and a browser lays out one bar per row, each as
// long as its tokens/s on its panel's scale. Headless Chromium loads a page that parses the SVG,
// measures the bars' boxes and writes the result into the page, which --dump-dom prints.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "closeness_checks.h"
#include "run_command.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

constexpr const char* kChromium = "/usr/bin/chromium";

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The page: the SVG text as a JS string, parsed with the browser's strict XML parser, inserted
// into the document and measured once laid out.
std::string measuring_page(const std::string& svg) {
  std::string literal = nlohmann::json(svg).dump();
  // "</" inside a script would end it early.
  for (size_t at = 0; (at = literal.find("</", at)) != std::string::npos; at += 3) literal.replace(at, 2, "<\\/");
  return R"(<!doctype html><html><body><div id="host"></div><pre id="result">not run</pre><script>
const doc = new DOMParser().parseFromString()" +
         literal + R"(, "image/svg+xml");
const out = {};
const errors = doc.getElementsByTagName("parsererror");
if (errors.length > 0) {
  out.error = errors[0].textContent;
} else {
  const svg = document.importNode(doc.documentElement, true);
  document.getElementById("host").appendChild(svg);
  const box = svg.getBoundingClientRect();
  out.svg = {width: box.width, height: box.height};
  out.bars = Array.from(svg.querySelectorAll("rect.bar")).map(r => {
    const b = r.getBoundingClientRect();
    return {test: r.getAttribute("data-test"), series: r.getAttribute("data-series"),
            value: parseFloat(r.getAttribute("data-value")), width: b.width, height: b.height,
            fill: getComputedStyle(r).fill};
  });
}
document.getElementById("result").textContent = JSON.stringify(out);
</script></body></html>
)";
}

std::string unescape_html(std::string s) {
  const std::pair<const char*, const char*> entities[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&amp;", "&"}};
  for (const auto& [from, to] : entities) {
    for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += std::strlen(to)) {
      s.replace(at, std::strlen(from), to);
    }
  }
  return s;
}

}  // namespace

TEST_CASE("bench --plot writes an SVG that headless Chromium draws with one bar per row", "[bench][cli][plot]") {
  if (!std::filesystem::exists(kChromium)) {
    FAIL("this test needs Chromium at /usr/bin/chromium (Debian package 'chromium', installed by scripts/setup.sh)");
  }
  testing::TempDir dir;
  const std::string svg_path = dir.file("bench.svg");
  const auto r =
      testing::run_vkgraph("bench --synth test-llama:q4_0 -p 8,16 -n 4 -r 2 --backend vulkan,cpu -o json --plot " +
                           testing::shell_quote(svg_path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const nlohmann::json rows = nlohmann::json::parse(r.out);
  REQUIRE(rows.size() == 6);  // pp8, pp16, tg4 on two backends
  const std::string svg = slurp(svg_path);
  REQUIRE_THAT(svg, ContainsSubstring("<svg"));

  const std::string page = dir.file("page.html");
  std::ofstream(page) << measuring_page(svg);
  const std::string dom = dir.file("dom.html"), log = dir.file("chromium.log");
  const std::string command = std::string("timeout 120 ") + kChromium +
                              " --headless --no-sandbox --disable-gpu --disable-background-networking"
                              " --disable-component-update --disable-sync --no-first-run --user-data-dir=" +
                              testing::shell_quote(dir.file("profile")) + " --dump-dom " +
                              testing::shell_quote("file://" + page) + " >" + testing::shell_quote(dom) + " 2>" +
                              testing::shell_quote(log);
  const int status = std::system(command.c_str());
  INFO(slurp(log));
  REQUIRE(status == 0);
  const std::string html = slurp(dom);
  const std::string open = "<pre id=\"result\">";
  const size_t begin = html.find(open);
  REQUIRE(begin != std::string::npos);
  const size_t end = html.find("</pre>", begin);
  REQUIRE(end != std::string::npos);
  const std::string text = unescape_html(html.substr(begin + open.size(), end - begin - open.size()));
  INFO(text);
  const nlohmann::json result = nlohmann::json::parse(text);
  REQUIRE(!result.contains("error"));
  CHECK(result["svg"]["width"].get<double>() > 100);
  CHECK(result["svg"]["height"].get<double>() > 100);

  // One bar per row, found by (test, series), each as long as its value on its panel's scale.
  const nlohmann::json& bars = result["bars"];
  REQUIRE(bars.size() == rows.size());
  std::map<std::string, std::vector<const nlohmann::json*>> panels;
  for (const nlohmann::json& bar : bars) {
    CHECK(bar["width"].get<double>() > 0.0);
    CHECK(bar["height"].get<double>() > 5.0);
    CHECK(bar["fill"].get<std::string>() != "none");
    panels[bar["test"].get<std::string>()].push_back(&bar);
  }
  CHECK(panels.size() == 3);
  for (const nlohmann::json& row : rows) {
    const std::string test = row["test"];
    const auto& panel = panels[test];
    const bool found = std::any_of(panel.begin(), panel.end(), [&](const nlohmann::json* bar) {
      return testing::value_close((*bar)["value"].get<double>(), row["ts_mean"].get<double>(), 0.0, 1e-4).close;
    });
    INFO(test << " " << row["backend"]);
    CHECK(found);
  }
  for (const auto& [test, panel] : panels) {
    INFO(test);
    REQUIRE(panel.size() == 2);
    // Same scale within a panel: the second bar's width follows from the first's (half a pixel
    // of rounding allowed).
    const double expected =
        (*panel[0])["width"].get<double>() * (*panel[1])["value"].get<double>() / (*panel[0])["value"].get<double>();
    CHECK_CLOSE(testing::value_close((*panel[1])["width"].get<double>(), expected, 0.5));
    CHECK((*panel[0])["series"] != (*panel[1])["series"]);
    CHECK((*panel[0])["fill"] != (*panel[1])["fill"]);
  }
}
