// The op suite (engine/testing/op_cases.h) on a CUDA device against the CPU reference: the same
// list of cases as the Vulkan and CPU runs, each its own section named after it, with guard bands
// around every output. Without a CUDA device (or a build without CUDA) it is skipped with the
// probe's reason.
#include <catch2/catch_test_macros.hpp>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/cuda/cuda_backend.h"
#include "engine/testing/case_backend.h"
#include "engine/testing/op_cases.h"

using namespace vkgraph;

TEST_CASE("cuda ops match the CPU reference", "[cuda][ops]") {
  const cuda::CudaProbe& probe = cuda::probe_cuda();
  if (!probe.available) SKIP("CUDA unavailable: " + probe.reason);
  std::unique_ptr<Backend> cuda = testing::create_case_backend("cuda");
  cpu::CpuBackend cpu;
  REQUIRE(!testing::op_cases().empty());
  for (const testing::OpCase& c : testing::op_cases()) {
    DYNAMIC_SECTION(c.name) {
      const testing::CaseResult result = testing::run_op_case(c, *cuda, cpu);
      INFO(testing::format_case_result(result));
      CHECK(result.error.empty());
      CHECK(result.passed);
    }
  }
}

TEST_CASE("cuda devices carry PCI bus ids in the Vulkan form", "[cuda]") {
  const cuda::CudaProbe& probe = cuda::probe_cuda();
  if (!probe.available) SKIP("CUDA unavailable: " + probe.reason);
  for (const cuda::CudaDeviceInfo& d : probe.devices) {
    INFO(d.name);
    CHECK(d.pci_bus_id.size() == 12);  // "0000:01:00.0"
    CHECK(d.pci_bus_id[4] == ':');
    CHECK(d.compute_major >= 7);
    CHECK(d.memory_bytes > 0);
  }
}
