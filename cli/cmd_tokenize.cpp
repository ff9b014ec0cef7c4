// `vkgraph tokenize -m MODEL TEXT`: the token ids of TEXT, space-separated, as llama.cpp's
// tokenizer gives them with no BOS added and special tokens (e.g. <|im_start|>) parsed.

#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "models/bundled/default_model.h"
#include "models/gguf/gguf_reader.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  std::string text;
  bool add_bos = false;
  bool pieces = false;
};

int run_tokenize(const TokenizeOptions& options) {
  const std::string path = options.model.empty() ? models::default_model_path() : options.model;
  const gguf::GgufFile file = gguf::GgufFile::open(path);
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  const std::vector<int32_t> ids = tokenizer.encode(options.text, options.add_bos, true);
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::printf("%s\n", line.c_str());
  if (options.pieces) {
    // One id and its text a line, on stderr so stdout stays the plain id list.
    for (int32_t id : ids) std::fprintf(stderr, "%6d '%s'\n", id, tokenizer.token_text(id).c_str());
  }
  return 0;
}

const CommandRegistration registration(
    "tokenize", "Print the token ids of a text (no BOS, special tokens parsed)", [](CLI::App& app) {
      auto options = std::make_shared<TokenizeOptions>();
      app.add_option("-m,--model", options->model, "GGUF model file (default: the bundled stories260K)");
      app.add_option("text", options->text, "the text to tokenize")->required();
      app.add_flag("--add-bos", options->add_bos, "put the model's BOS token first");
      app.add_flag("--pieces", options->pieces, "also list each token's text on stderr");
      return [options] { return run_tokenize(*options); };
    });

}  // namespace
}  // namespace vkgraph::cli
