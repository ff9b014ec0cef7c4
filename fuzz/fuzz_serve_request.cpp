// libFuzzer target: `vkgraph serve`'s request parser and chat-message handling
// (serve_request_fuzz_body.h), with the BPE vocabulary of tiny-bpe-vocab (VKGRAPH_FUZZ_BPE_MODEL
// overrides the file).

#include "fuzz/fuzz_support.h"
#include "fuzz/serve_request_fuzz_body.h"

namespace {
const vkgraph::Tokenizer* tokenizer = nullptr;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static const vkgraph::Tokenizer tok =
      vkgraph::fuzz::load_tokenizer("VKGRAPH_FUZZ_BPE_MODEL", "tiny-bpe-vocab-q8_0.gguf");
  tokenizer = &tok;
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vkgraph::fuzz::run_checked([&] { vkgraph::fuzz::serve_request_fuzz_one(*tokenizer, data, size); });
}
