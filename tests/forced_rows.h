#pragma once
// Runs every op case a forced row of the Vulkan kernel table can run on the test device (rows
// this device would not choose: the GPU variants on lavapipe, say) and checks each against the
// CPU reference, with the case, its error and its NMSE in the failure message.

#include <cstddef>
#include <string>

namespace vkgraph::test {

// The cases of `row` (a row name or a shader, as `vkgraph test-ops --kernel` takes) whose op or
// name matches `filter`: CHECKs that each passed and returns how many ran.
size_t check_forced_row_cases(const std::string& row, const std::string& filter);

}  // namespace vkgraph::test
