// Writes the seed corpora of the fuzz targets from the test models, so no binary corpus is
// committed: fuzz/CMakeLists.txt runs it at build time.
//   gguf/       each model's header with its arrays cut to kArrayKeep elements and its smallest
//               tensors kept (small files mutate quickly yet reach every reader path), plus the
//               first rows of one tensor of each weight type the model holds; and
//               weight-types.gguf: a few rows of every weight type of engine/core/weight_types.def
//   tokenizer/  the tokenizer reference texts, with flag bytes (see tokenizer_fuzz_body.h)
//   chat/       each family's template markers and the models' own templates, with messages
//   serve/      OpenAI request bodies of `vkgraph serve` (see serve_request_fuzz_body.h)
//   jinja/      real templates (the models' own, tokenizer_config.json files, llama.cpp's .jinja
//               files) and the cases of tests/data/jinja-features.txt, each with messages
// Usage: vkgraph_fuzz_seeds OUT_DIR MODEL.gguf... [TEXTS.jsonl...] [*.jinja...]
//                           [*.tokenizer_config.json...] [jinja-features.txt]

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/quant.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"

namespace {

using namespace vkgraph;
using namespace std::string_literals;
namespace fs = std::filesystem;

constexpr size_t kArrayKeep = 300;  // tokens: enough for the byte tokens' neighbourhood
constexpr size_t kTensorsKeep = 3;  // the smallest tensors (norm weights)
constexpr int64_t kRowsKeep = 2;    // rows kept of one matrix per weight type

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) fail("{}: cannot write", path.string());
}

gguf::Value trimmed(const gguf::Value& value) {
  const auto* array = std::get_if<gguf::Array>(&value);
  if (!array) return value;
  gguf::Array out = *array;
  std::visit(
      [](auto& elements) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(elements)>, std::monostate>) {
          if (elements.size() > kArrayKeep) elements.resize(kArrayKeep);
        }
      },
      out.elements);
  return out;
}

void gguf_seed(const std::string& model, const fs::path& out_dir) {
  const gguf::GgufFile file = gguf::GgufFile::open(model);
  gguf::GgufWriter writer(file.alignment());
  for (const gguf::MetadataEntry& entry : file.metadata()) {
    if (entry.key == "general.alignment") continue;  // the writer records it itself
    writer.set(entry.key, trimmed(entry.value));
  }
  std::vector<const gguf::TensorInfo*> tensors;
  for (const gguf::TensorInfo& t : file.tensors()) tensors.push_back(&t);
  std::stable_sort(tensors.begin(), tensors.end(), [](auto* a, auto* b) { return a->bytes < b->bytes; });
  tensors.resize(std::min(tensors.size(), kTensorsKeep));
  for (const gguf::TensorInfo* t : tensors) {
    const auto bytes = file.data(*t);
    writer.add_tensor(t->name, t->type, t->shape, std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  // The first rows of the first matrix of each weight type, so every block decoder is reached.
  std::vector<DType> types_kept;
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (t.shape.size() != 2 || std::find(types_kept.begin(), types_kept.end(), t.type) != types_kept.end()) continue;
    if (std::find(tensors.begin(), tensors.end(), &t) != tensors.end()) continue;
    types_kept.push_back(t.type);
    const int64_t rows = std::min(t.shape[0], kRowsKeep);
    const auto bytes = file.data(t).first(size_t(rows) * row_bytes(t.type, size_t(t.shape[1])));
    writer.add_tensor(t.name, t.type, {rows, t.shape[1]}, std::vector<std::byte>(bytes.begin(), bytes.end()));
  }
  writer.write((out_dir / (fs::path(model).stem().string() + ".gguf")).string());

  // The chat template of the model, as a chat seed and a jinja seed.
  if (const auto text = file.find_string("tokenizer.chat_template")) {
    std::string seed = *text;
    seed +=
        "\0\x00You are kind.\0\x01Hello there\0\x02Hi!\0\x01"
        "Bye\x01"s;
    write_file(out_dir.parent_path() / "chat" / (fs::path(model).stem().string() + ".txt"), seed);
    write_file(out_dir.parent_path() / "jinja" / (fs::path(model).stem().string() + ".txt"), seed);
  }
}

// A conversation after the template (jinja_fuzz_body.h): system, user, assistant, user; the
// last byte asks for the generation prompt.
const std::string kJinjaMessages = "\0\x00You are kind.\0\x01Hello there\0\x02Hi!\0\x01Bye\x01"s;

void jinja_file_seed(const std::string& path, const fs::path& out_dir, size_t& counter) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const fs::path name = fs::path(path).filename();
  if (path.ends_with(".tokenizer_config.json")) {
    const auto config = nlohmann::json::parse(text);
    if (config.contains("chat_template") && config["chat_template"].is_string()) {
      write_file(out_dir / name, config["chat_template"].get<std::string>() + kJinjaMessages);
    }
  } else if (path.ends_with(".jinja")) {
    write_file(out_dir / name, text + kJinjaMessages);
  } else {  // the feature cases: "#### name" lines separate the templates
    std::string current;
    const auto flush = [&] {
      if (!current.empty()) write_file(out_dir / ("feature-" + std::to_string(counter++)), current + kJinjaMessages);
      current.clear();
    };
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("#### ", 0) == 0) {
        flush();
      } else {
        current += line + "\n";
      }
    }
    flush();
  }
}

// Two rows of every weight type, encoded from a ramp: every decoder from a valid block.
void weight_types_seed(const fs::path& out_dir) {
  gguf::GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  for (size_t i = 0; i < kDTypeCount; ++i) {
    const auto type = DType(i);
    if (!is_weight_type(type)) continue;
    const size_t cols = std::max<size_t>(dtype_info(type).block_elements, 32);
    std::vector<float> values(2 * cols);
    for (size_t v = 0; v < values.size(); ++v) values[v] = float(int(v % 61) - 30) / 16.0f;
    std::vector<std::byte> bytes(2 * row_bytes(type, cols));
    for (size_t r = 0; r < 2; ++r) {
      quantize_row(type, values.data() + r * cols, bytes.data() + r * row_bytes(type, cols), cols);
    }
    writer.add_tensor(std::string(dtype_name(type)) + ".weight", type, {2, int64_t(cols)}, std::move(bytes));
  }
  writer.write((out_dir / "weight-types.gguf").string());
}

void tokenizer_seeds(const std::string& jsonl, const fs::path& out_dir, size_t& counter) {
  std::ifstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto record = nlohmann::json::parse(line);
    const std::string text = record.at("text").get<std::string>();
    for (char flags : {'\0', '\x02', '\x03'}) {
      write_file(out_dir / ("text-" + std::to_string(counter++)), std::string(1, flags) + text);
    }
  }
}

void chat_seeds(const fs::path& out_dir) {
  const std::string messages =
      "\0\x00System prompt  \0\x01  What is 2+2? \0\x02 Four. \0\x01"
      "Thanks\x01"s;
  const std::vector<std::string> templates = {
      "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}",
      "<|start_header_id|>{{ role }}<|end_header_id|>\n\n{{ content }}<|eot_id|>",
      "[INST] <<SYS>>\n{{ system }}\n<</SYS>>\n\n{{ user }} [/INST]",
      "[INST] {{ user }}[/INST] {{ assistant }}</s>",
      "<|user|>\n{{ content }}<|endoftext|>\n<|assistant|>\n",
      "<|user|>{{ content }}<|end|><|assistant|>",
      "name:chatml",
      "name:llama3",
      "name:llama2",
      "name:mistral",
      "name:zephyr",
      "name:other",
      ""};
  size_t i = 0;
  for (const std::string& t : templates) write_file(out_dir / ("template-" + std::to_string(i++)), t + messages);
  write_file(out_dir / "custom-role", "<|im_start|>\0\x03tool\x01{\"x\": 1}\0"s);
}

// OpenAI request bodies; the first byte picks the parser (0 chat, 1 completion, 2 embeddings).
void serve_seeds(const fs::path& out_dir) {
  const std::vector<std::string> bodies = {
      "\x00{\"model\": \"m\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
      "{\"role\": \"user\", \"content\": \"Hi <|im_end|>\"}], \"max_tokens\": 8, \"stop\": [\"\\n\"], "
      "\"stream\": true, \"stream_options\": {\"include_usage\": true}, \"temperature\": 0.7, \"seed\": 3}"s,
      "\x00{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"caf\u00e9\"}]}], "
      "\"n\": 1, \"top_p\": 0.5, \"max_completion_tokens\": 3}"s,
      "\x01{\"prompt\": \"Once upon a time\", \"max_tokens\": 16, \"stop\": \"END\", \"ignore_eos\": true}"s,
      "\x01{\"prompt\": [1, 2, 3], \"top_k\": 40, \"min_p\": 0.05, \"repeat_penalty\": 1.1}"s,
      "\x02{\"input\": [\"a\", [1, 2]], \"encoding_format\": \"base64\"}"s,
      "\x02{\"input\": \"text\"}"s};
  size_t i = 0;
  for (const std::string& b : bodies) write_file(out_dir / ("body-" + std::to_string(i++)), b);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR MODEL.gguf... [TEXTS.jsonl...]\n", argv[0]);
    return 2;
  }
  try {
    const fs::path out(argv[1]);
    for (const char* sub : {"gguf", "tokenizer", "chat", "serve", "jinja"}) fs::create_directories(out / sub);
    size_t counter = 0;
    for (int i = 2; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg.ends_with(".gguf")) {
        // A model this build cannot read (a weight type it does not know yet) seeds nothing.
        try {
          gguf_seed(arg, out / "gguf");
        } catch (const Error& e) {
          std::fprintf(stderr, "vkgraph_fuzz_seeds: skipping %s: %s\n", arg.c_str(), e.what());
        }
      } else if (arg.ends_with(".jsonl")) {
        tokenizer_seeds(arg, out / "tokenizer", counter);
      } else {
        jinja_file_seed(arg, out / "jinja", counter);
      }
    }
    chat_seeds(out / "chat");
    serve_seeds(out / "serve");
    weight_types_seed(out / "gguf");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkgraph_fuzz_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
