// libFuzzer target: the GGUF reader and the metadata readers after it (gguf_fuzz_body.h).

#include "engine/core/log.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/gguf_fuzz_body.h"

// A mutated file's chat template that does not parse is a warning (and the built-in format);
// printed for every input it would only slow the fuzzer.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vkgraph::log::set_level(vkgraph::log::Level::error);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vkgraph::fuzz::run_checked([&] { vkgraph::fuzz::gguf_fuzz_one(data, size); });
}
