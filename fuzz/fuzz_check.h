#pragma once
// The property check of the fuzz targets, header-only so tests/test_fuzz_regressions.cpp runs
// the same bodies on the kept inputs: a violated property throws PropertyViolation, which the
// fuzz executables turn into an abort (a libFuzzer finding) and the tests into a failure.

#include <stdexcept>

namespace vkgraph::fuzz {

class PropertyViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

inline void require(bool ok, const char* what) {
  if (!ok) throw PropertyViolation(what);
}

}  // namespace vkgraph::fuzz
