#include "cli/serve/auth.h"

#include <cctype>
#include <cstdint>

namespace vkgraph::serve {

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited whatever the contents; the length difference is
  // folded into the result instead of returning early.
  const size_t n = a.size() > b.size() ? a.size() : b.size();
  volatile uint8_t diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t x = i < a.size() ? uint8_t(a[i]) : 0;
    const uint8_t y = i < b.size() ? uint8_t(b[i]) : 0;
    diff = uint8_t(diff | (x ^ y));
  }
  return diff == 0;
}

bool bearer_matches(std::string_view header, std::string_view key) {
  constexpr std::string_view scheme = "bearer ";
  bool scheme_ok = header.size() >= scheme.size();
  for (size_t i = 0; scheme_ok && i < scheme.size(); ++i) {
    scheme_ok = std::tolower(static_cast<unsigned char>(header[i])) == scheme[i];
  }
  const std::string_view presented = scheme_ok ? header.substr(scheme.size()) : std::string_view();
  // Compared even when the scheme is wrong, so that case takes the same time.
  return constant_time_equal(presented, key) && scheme_ok;
}

}  // namespace vkgraph::serve
