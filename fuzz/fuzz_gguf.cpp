// libFuzzer target: the GGUF reader and the metadata readers after it (gguf_fuzz_body.h).

#include "fuzz/fuzz_support.h"
#include "fuzz/gguf_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vkgraph::fuzz::run_checked([&] { vkgraph::fuzz::gguf_fuzz_one(data, size); });
}
