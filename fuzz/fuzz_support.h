#pragma once
// What only the fuzz executables need: the vocabularies the tokenizer targets are built from,
// and the conversion of a violated property into a libFuzzer finding.

#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_check.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::fuzz {

// The tokenizer of a model file: `env_var` names an override, else `default_model` under the
// shared models directory given at configure time. Exits with a message when it cannot load:
// a fuzzer without its vocabulary would only test the error path.
Tokenizer load_tokenizer(const char* env_var, const char* default_model);

[[noreturn]] void report_violation(const char* what);

// Runs `body`; a PropertyViolation is printed and aborts, so libFuzzer keeps the input.
template <typename Body>
int run_checked(Body&& body) {
  try {
    body();
  } catch (const PropertyViolation& e) {
    report_violation(e.what());
  }
  return 0;
}

}  // namespace vkgraph::fuzz
