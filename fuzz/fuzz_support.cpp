#include "fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"

namespace vkgraph::fuzz {

Tokenizer load_tokenizer(const char* env_var, const char* default_model) {
  const char* override_path = std::getenv(env_var);
  const std::string path = override_path && *override_path ? std::string(override_path)
                                                           : std::string(VKGRAPH_FUZZ_MODELS_DIR) + "/" + default_model;
  try {
    const gguf::GgufFile file = gguf::GgufFile::open(path);
    return Tokenizer::from_gguf(file);
  } catch (const Error& e) {
    std::fprintf(stderr, "fuzz: cannot load the tokenizer of %s (set %s): %s\n", path.c_str(), env_var, e.what());
    std::exit(2);
  }
}

void report_violation(const char* what) {
  std::fprintf(stderr, "fuzz: property violated: %s\n", what);
  std::abort();
}

}  // namespace vkgraph::fuzz
