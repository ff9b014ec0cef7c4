// The CUDA backend where it cannot run: a build with it (or without it) starts on a machine with
// no NVIDIA driver, lists CUDA as unavailable with the reason, and refuses `--backend cuda` with
// a clear error and a non-zero exit. On a machine with a CUDA device these cases skip, and the
// op cases (test_cuda_ops.cpp) run instead.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include "engine/backend/cuda/cuda_backend.h"
#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "engine/testing/case_backend.h"
#include "tests/run_command.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

// Skips the calling test when a CUDA device is present (then the refusals cannot happen).
void require_no_cuda_device() {
  const cuda::CudaProbe& probe = cuda::probe_cuda();
  if (probe.available) {
    SKIP("a CUDA device is present (" + probe.devices.front().name + "): nothing is refused here");
  }
}

}  // namespace

TEST_CASE("cuda probe gives a reason and the registry follows it", "[cuda]") {
  require_no_cuda_device();
  const cuda::CudaProbe& probe = cuda::probe_cuda();
  CHECK_FALSE(probe.available);
  CHECK(probe.devices.empty());
  CHECK_FALSE(probe.reason.empty());
  // Listed among the backends exactly when built in; never available without a device.
  CHECK(has_backend("cuda") == probe.built_in);
  const BackendAvailability availability = backend_availability("cuda");
  CHECK_FALSE(availability.available);
  CHECK(availability.reason == probe.reason);
  if (probe.built_in) {
    // The static runtime is linked in and answers; the reason says what is missing.
    CHECK(probe.runtime_version >= 12000);
    CHECK_THAT(probe.reason, ContainsSubstring("NVIDIA driver") || ContainsSubstring("CUDA device") ||
                                 ContainsSubstring("no usable device"));
  } else {
    CHECK_THAT(probe.reason, ContainsSubstring("no CUDA backend"));
  }
  CHECK(backend_availability("vulkan").available == has_backend("vulkan"));
  CHECK(backend_availability("cpu").available);
  CHECK_FALSE(backend_availability("no-such-backend").available);
}

TEST_CASE("cuda backend creation fails with no CUDA device and the reason", "[cuda]") {
  require_no_cuda_device();
  const std::string reason = cuda::probe_cuda().reason;
  try {
    create_backend("cuda");
    FAIL("create_backend(\"cuda\") succeeded without a CUDA device");
  } catch (const Error& e) {
    CHECK_THAT(std::string(e.what()), StartsWith("no CUDA device: ") && ContainsSubstring(reason));
  }
  CHECK_THROWS_WITH(testing::create_case_backend("cuda"),
                    StartsWith("backend cuda is unavailable: ") && ContainsSubstring(reason));
  // The other backends are unaffected.
  CHECK(create_backend("cpu")->name() == "cpu");
}

TEST_CASE("cuda cli run and chat with --backend cuda exit non-zero naming no CUDA device", "[cuda][cli]") {
  require_no_cuda_device();
  const testing::CommandResult run = testing::run_vkgraph("run --backend cuda -p Hello -n 2");
  INFO("run stdout: " << run.out << "\nrun stderr: " << run.err);
  CHECK(run.exit_code == 1);  // an Error, not a crash (signal) or an internal error (3)
  CHECK_THAT(run.err, ContainsSubstring("no CUDA device: ") && ContainsSubstring(cuda::probe_cuda().reason));
  CHECK(run.out.empty());

  const testing::CommandResult chat = testing::run_vkgraph("chat --backend cuda", "Hello\n");
  INFO("chat stderr: " << chat.err);
  CHECK(chat.exit_code == 1);
  CHECK_THAT(chat.err, ContainsSubstring("no CUDA device: "));
}

TEST_CASE("cuda cli test-ops reports cuda unavailable and runs no case", "[cuda][cli]") {
  require_no_cuda_device();
  const testing::CommandResult r = testing::run_vkgraph("test-ops --backend cuda");
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, ContainsSubstring("backend cuda is unavailable: ") && ContainsSubstring(cuda::probe_cuda().reason));
  CHECK_THAT(r.out, !ContainsSubstring("passed"));  // no case ran, so none "passed"
}

TEST_CASE("cuda cli devices lists CUDA as unavailable beside the Vulkan devices", "[cuda][cli]") {
  require_no_cuda_device();
  const std::string reason = cuda::probe_cuda().reason;
  const testing::CommandResult text = testing::run_vkgraph("devices");
  INFO("stderr: " << text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, ContainsSubstring("device 0: "));  // the Vulkan device is still there
  CHECK_THAT(text.out, ContainsSubstring("CUDA: unavailable (" + reason + ")"));

  const testing::CommandResult json = testing::run_vkgraph("devices --json");
  REQUIRE(json.exit_code == 0);
  const nlohmann::json devices = nlohmann::json::parse(json.out);
  REQUIRE(devices.is_array());
  size_t vulkan = 0, cuda_entries = 0, cpu_entries = 0;
  for (const nlohmann::json& d : devices) {
    if (d.at("backend") == "vulkan") {
      ++vulkan;
      CHECK(cuda_entries + cpu_entries == 0);  // the Vulkan devices come first
      CHECK(d.at("available") == true);
      CHECK(d.contains("pci_bus_id"));  // a string where VK_EXT_pci_bus_info exists, else null
    } else if (d.at("backend") == "cuda") {
      ++cuda_entries;
      CHECK(cpu_entries == 0);  // then CUDA, then the CPU: the registry's order of preference
      CHECK(d.at("available") == false);
      CHECK(d.at("reason") == reason);
      CHECK(d.at("built_in") == cuda::probe_cuda().built_in);
    } else {
      REQUIRE(d.at("backend") == "cpu");
      ++cpu_entries;
      CHECK(d.at("available") == true);
    }
  }
  CHECK(vulkan >= 1);
  CHECK(cuda_entries == 1);
  CHECK(cpu_entries == 1);

  // Asking for one Vulkan device shows that device only.
  const testing::CommandResult one = testing::run_vkgraph("devices --device 0");
  REQUIRE(one.exit_code == 0);
  CHECK_THAT(one.out, !ContainsSubstring("CUDA:"));
}
