#pragma once
// The independent reference for templates: Debian's python3-jinja2, set up as Hugging Face sets
// it up (tests/jinja_reference.py), renders the same templates with the same variables; our
// renderer must give the same bytes, or fail where it fails.

#include <catch2/catch_test_macros.hpp>

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "models/chat/jinja/json.h"
#include "models/chat/jinja/template.h"
#include "tests/temp_dir.h"

namespace vkgraph::testing {

// The fixed clock of strftime_now() in both renderers (local time).
inline constexpr const char* kReferenceNow = "2025-03-14T10:20:30";

inline std::time_t reference_now() {
  std::tm tm{};
  tm.tm_year = 2025 - 1900;
  tm.tm_mon = 2;
  tm.tm_mday = 14;
  tm.tm_hour = 10;
  tm.tm_min = 20;
  tm.tm_sec = 30;
  tm.tm_isdst = -1;
  return std::mktime(&tm);
}

struct Rendered {
  bool ok = false;
  std::string text;  // the prompt, or the error
};

struct ReferenceCase {
  size_t template_index;
  nlohmann::ordered_json variables;
};

// Renders every case with python3-jinja2. Debian installs the package for /usr/bin/python3
// (another python3 on the PATH may lack it or carry another version), so that one runs.
inline std::vector<Rendered> render_with_jinja2(const std::vector<std::string>& templates,
                                                const std::vector<ReferenceCase>& cases) {
  TempDir dir;
  nlohmann::ordered_json job;
  job["now"] = kReferenceNow;
  job["templates"] = templates;
  job["cases"] = nlohmann::ordered_json::array();
  for (const ReferenceCase& c : cases)
    job["cases"].push_back({{"template", c.template_index}, {"variables", c.variables}});
  const std::string job_path = dir.file("job.json"), out_path = dir.file("out.json"), err_path = dir.file("err.txt");
  std::ofstream(job_path) << job.dump();
  const std::string command = std::string("/usr/bin/python3 '") + VKGRAPH_SOURCE_DIR + "/tests/jinja_reference.py' '" +
                              job_path + "' '" + out_path + "' 2>'" + err_path + "'";
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::ifstream err(err_path);
    std::stringstream text;
    text << err.rdbuf();
    FAIL(
        "python3-jinja2 could not render the reference (the Debian package python3-jinja2, installed by "
        "scripts/setup.sh, is needed at /usr/bin/python3): "
        << text.str());
  }
  std::ifstream in(out_path);
  const nlohmann::json out = nlohmann::json::parse(in);
  std::vector<Rendered> results;
  for (const auto& r : out.at("results")) {
    results.push_back(r.contains("text") ? Rendered{true, r["text"].get<std::string>()}
                                         : Rendered{false, r["error"].get<std::string>()});
  }
  REQUIRE(results.size() == cases.size());
  return results;
}

inline Rendered render_with_vkgraph(const std::string& source, const nlohmann::ordered_json& variables) {
  try {
    const jinja::Template t = jinja::Template::parse(source);
    jinja::Dict vars;
    for (const auto& [key, value] : variables.items()) vars.set(jinja::Value(key), jinja::from_json(value));
    return {true, t.render(vars, reference_now())};
  } catch (const jinja::Error& e) {
    return {false, e.what()};
  }
}

// Both rendered the same bytes, or both refused.
inline bool same_outcome(const Rendered& ours, const Rendered& reference) {
  return ours.ok == reference.ok && (!ours.ok || ours.text == reference.text);
}

}  // namespace vkgraph::testing
