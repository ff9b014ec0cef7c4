// Real chat templates rendered by vkgraph and by python3-jinja2 (set up as Hugging Face sets it
// up), byte for byte: the templates of ../shared/tokenizers, the three GGUF files that carry one,
// and llama.cpp's collection of real templates (models/templates of the llama.cpp source that
// the npm package node-llama-cpp 3.22.1 carries; scripts/setup.sh caches them in
// .deps/llama-cpp-templates). Conversations: with and without a system message, one and several
// turns, with and without the generation prompt, text that trips whitespace and escaping, Qwen3's
// enable_thinking, and one with tools and tool calls (templates that need more than that fail in
// both renderers, which counts as agreement).

#include <catch2/catch_test_macros.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "models/chat/chat_template.h"
#include "models/gguf/gguf_reader.h"
#include "tests/jinja_reference_support.h"
#include "tests/shared_files.h"

using namespace vkgraph;
using namespace vkgraph::testing;
using json = nlohmann::ordered_json;

namespace {

struct TemplateSource {
  std::string name;
  std::string source;
  std::string bos, eos;
  std::string gguf;  // the file it came from, for the ChatTemplate check; "" otherwise
};

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string token_of(const nlohmann::json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return "";
  const auto& t = config[key];
  return t.is_string() ? t.get<std::string>() : t.value("content", "");
}

std::vector<TemplateSource> real_templates() {
  std::vector<TemplateSource> out;
  for (const char* name : {"llama3", "llama3_1", "qwen3", "gemma3", "deepseek_v3"}) {
    const std::string path = shared_file(std::string("tokenizers/") + name + ".tokenizer_config.json");
    const nlohmann::json config = nlohmann::json::parse(slurp(path));
    REQUIRE(config.at("chat_template").is_string());
    out.push_back({std::string(name) + ".tokenizer_config.json", config["chat_template"].get<std::string>(),
                   token_of(config, "bos_token"), token_of(config, "eos_token"), ""});
  }
  for (const char* name : {"tiny-bpe-vocab-q8_0.gguf", "llama3-vocab-q8_0.gguf", "qwen3-vocab-q8_0.gguf"}) {
    const std::string path = shared_file(std::string("models/") + name);
    const gguf::GgufFile file = gguf::GgufFile::open(path);
    const std::optional<std::string> source = file.find_string("tokenizer.chat_template");
    REQUIRE(source);
    const chat::TemplateTokens tokens = chat::TemplateTokens::from_gguf(file);
    out.push_back({name, *source, tokens.bos, tokens.eos, path});
  }
  const std::filesystem::path dir = std::filesystem::path(VKGRAPH_SOURCE_DIR) / ".deps" / "llama-cpp-templates";
  if (!std::filesystem::is_directory(dir)) {
    FAIL(
        "missing " << dir.string()
                   << ": llama.cpp's real chat templates, which scripts/setup.sh fetches (npm package node-llama-cpp)");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".jinja") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  // llama.cpp v0.5.0 (node-llama-cpp 3.22.1) carries 70; fewer means a broken fetch.
  REQUIRE(files.size() >= 70);
  for (const auto& f : files) out.push_back({f.filename().string(), slurp(f), "<s>", "</s>", ""});
  return out;
}

json message(const char* role, const char* content) { return {{"role", role}, {"content", content}}; }

struct Conversation {
  std::string name;
  json messages;
  bool add_generation_prompt;
  json extra = json::object();
  bool plain = true;  // only role/content strings: what ChatTemplate itself renders
};

std::vector<Conversation> conversations() {
  const json system = message("system", "You are a helpful assistant.");
  const json turns = json::array({system, message("user", "Hi"), message("assistant", "Hello! How can I help?"),
                                  message("user", "Tell me a joke.")});
  std::vector<Conversation> out = {
      {"user only", json::array({message("user", "Hello!")}), true},
      {"system and user", json::array({system, message("user", "What is 2+2?")}), true},
      {"multi-turn", turns, true},
      {"multi-turn without generation prompt", turns, false},
      {"ending with the assistant", json::array({message("user", "Hi"), message("assistant", "Hello there.")}), false},
      {"no system, multi-turn",
       json::array({message("user", "Hi"), message("assistant", "Hello."), message("user", "Bye")}), true},
      // Whitespace the templates trim, quotes and backslashes, non-ASCII, a reasoning block that
      // reasoning templates strip from history, and text that looks like template syntax.
      {"awkward text",
       json::array(
           {message("system", "  Be terse.\n"),
            message("user",
                    "  Quotes ' \" \\ and tabs\t, unicode: caf\u00e9 \u4e16\u754c \U0001F600  \n\nnew paragraph "),
            message("assistant", "<think>\nreasoning\n</think>\n\nAnswer."),
            message("user", "{{ not a template }} {% raw %}")}),
       true},
  };
  Conversation thinking_off{"enable_thinking false", json::array({system, message("user", "Hi")}), true,
                            json{{"enable_thinking", false}}};
  Conversation thinking_on{"enable_thinking true", json::array({system, message("user", "Hi")}), true,
                           json{{"enable_thinking", true}}};
  out.push_back(thinking_off);
  out.push_back(thinking_on);
  // Tools and a tool call: beyond plain chat, but it drives tojson, loops over schemas and macros.
  const json tools = json::array({{{"type", "function"},
                                   {"function",
                                    {{"name", "get_weather"},
                                     {"description", "Current weather in a city"},
                                     {"parameters",
                                      {{"type", "object"},
                                       {"properties", {{"city", {{"type", "string"}, {"description", "City name"}}}}},
                                       {"required", json::array({"city"})}}}}}}});
  json call = message("assistant", "");
  call["tool_calls"] = json::array({{{"id", "call_1"},
                                     {"type", "function"},
                                     {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}}});
  json result = message("tool", "{\"temperature\": 21.5, \"sky\": \"clear\"}");
  result["tool_call_id"] = "call_1";
  result["name"] = "get_weather";
  Conversation with_tools{"tools and a tool call", json::array({message("user", "Weather in Paris?"), call, result}),
                          true, json{{"tools", tools}}};
  with_tools.plain = false;
  out.push_back(with_tools);
  return out;
}

json variables_for(const TemplateSource& t, const Conversation& c) {
  // What apply_chat_template passes (and ChatTemplate passes the same).
  json v = {{"messages", c.messages},
            {"tools", nullptr},
            {"documents", nullptr},
            {"add_generation_prompt", c.add_generation_prompt}};
  if (!t.bos.empty()) v["bos_token"] = t.bos;
  if (!t.eos.empty()) v["eos_token"] = t.eos;
  for (const auto& [key, value] : c.extra.items()) v[key] = value;
  return v;
}

}  // namespace

TEST_CASE("jinja: real chat templates render every conversation as python3-jinja2 does", "[jinja][chat]") {
  const std::vector<TemplateSource> templates = real_templates();
  const std::vector<Conversation> convs = conversations();

  std::vector<std::string> sources;
  std::vector<ReferenceCase> cases;
  std::vector<std::pair<size_t, size_t>> which;  // (template, conversation) of each case
  for (size_t ti = 0; ti < templates.size(); ++ti) {
    sources.push_back(templates[ti].source);
    for (size_t ci = 0; ci < convs.size(); ++ci) {
      // The enable_thinking cases only where a template reads the variable.
      if (convs[ci].extra.contains("enable_thinking") &&
          templates[ti].source.find("enable_thinking") == std::string::npos) {
        continue;
      }
      cases.push_back({ti, variables_for(templates[ti], convs[ci])});
      which.emplace_back(ti, ci);
    }
  }
  const std::vector<Rendered> reference = render_with_jinja2(sources, cases);

  size_t rendered = 0, refused = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const TemplateSource& t = templates[which[i].first];
    const Conversation& c = convs[which[i].second];
    const Rendered ours = render_with_vkgraph(t.source, cases[i].variables);
    INFO("template " << t.name << ", conversation '" << c.name << "'\n--- python3-jinja2 "
                     << (reference[i].ok ? "" : "(error) ") << reference[i].text << "\n--- vkgraph "
                     << (ours.ok ? "" : "(error) ") << ours.text);
    CHECK(same_outcome(ours, reference[i]));
    (reference[i].ok ? rendered : refused)++;

    // The same prompt through ChatTemplate, as `vkgraph chat` makes it from the file.
    if (!t.gguf.empty() && c.plain && reference[i].ok) {
      const chat::ChatTemplate tmpl = chat::ChatTemplate::from_gguf(gguf::GgufFile::open(t.gguf));
      REQUIRE(tmpl.is_jinja());
      std::vector<chat::Message> messages;
      for (const auto& m : c.messages)
        messages.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
      chat::FormatOptions options;
      options.add_generation_prompt = c.add_generation_prompt;
      if (c.extra.contains("enable_thinking")) options.enable_thinking = c.extra["enable_thinking"].get<bool>();
      options.now = reference_now();
      CHECK(tmpl.render_jinja(messages, options) == reference[i].text);
    }
  }
  // Nearly every case renders (a few templates need tools or refuse a system message): the
  // comparison is of prompts, not of two failures.
  CHECK(rendered >= cases.size() * 9 / 10);
  CHECK(rendered + refused == cases.size());
}
