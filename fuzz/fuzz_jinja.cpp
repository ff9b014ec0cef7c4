// libFuzzer target: the Jinja interpreter of chat templates (jinja_fuzz_body.h).

#include "fuzz/fuzz_support.h"
#include "fuzz/jinja_fuzz_body.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vkgraph::fuzz::run_checked([&] { vkgraph::fuzz::jinja_fuzz_one(data, size); });
}
