// libFuzzer target: encode and decode with the SentencePiece vocabulary (model "llama", byte fallback) of stories260K.
// VKGRAPH_FUZZ_SPM_MODEL overrides the model file. Properties: tokenizer_fuzz_body.h.

#include "fuzz/fuzz_support.h"
#include "fuzz/tokenizer_fuzz_body.h"

namespace {
const vkgraph::Tokenizer* tokenizer = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static const vkgraph::Tokenizer tok = vkgraph::fuzz::load_tokenizer("VKGRAPH_FUZZ_SPM_MODEL", "stories260K.gguf");
  tokenizer = &tok;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vkgraph::fuzz::run_checked([&] { vkgraph::fuzz::tokenizer_fuzz_one(*tokenizer, data, size); });
}
