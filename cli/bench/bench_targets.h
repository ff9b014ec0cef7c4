#pragma once
// Which (backend, device) pairs a bench run measures, from `--backend` and `--device` lists.
// Backends are taken from the registry: one the program knows of but this build lacks ("cuda"
// without a CUDA toolkit) or that finds no device is reported in a note and skipped, so one
// command line works on every machine; an unknown name or a device that does not exist is an
// error. --device selects devices of the GPU backends (vulkan, cuda); cpu has its one device.

#include <memory>
#include <string>
#include <vector>

#include "engine/backend/backend.h"

namespace vkgraph::bench {

struct BenchTarget {
  std::string backend;  // registry name
  std::string device;   // selector for create_backend ("" = the backend's default)
};

struct TargetList {
  std::vector<BenchTarget> targets;
  std::vector<std::string> notes;  // "cuda: not built (this build has vulkan, cpu)"
};

// `backends`: names, in order; `devices`: selectors, "all" for every device of a backend, empty
// for each backend's default. Checks every device exists (Error listing the devices when not)
// and throws when nothing is left to measure.
TargetList resolve_targets(const std::vector<std::string>& backends, const std::vector<std::string>& devices);

// The backend of a target (its device context created here).
std::unique_ptr<Backend> create_target_backend(const BenchTarget& target);

}  // namespace vkgraph::bench
