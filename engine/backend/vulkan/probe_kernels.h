#pragma once
// The runtime's own kernels (shaders/probe): the vector add that exercises the whole path
// (memory, pipeline, recording, timestamps), the cooperative-matrix tile multiply whose
// selection rule every COOPMAT kernel of the op table follows, and the copy that measures the
// device's memory bandwidth (the roofline of `vkgraph bench`).

#include <cstdint>
#include <memory>
#include <span>

#include "engine/backend/vulkan/kernel_requirements.h"

namespace vkgraph::vk {

inline constexpr const char* kVectorAddShader = "probe/vector_add_f32";
inline constexpr const char* kCoopMatTileShader = "probe/coopmat_f16";
// The same probe over the cooperative-matrix emulation (shaders/common/coopmat_emulated.glsl):
// runs on any device with subgroups, f16 arithmetic and 16-bit storage.
inline constexpr const char* kCoopMatTileEmulatedShader = "probe/coopmat_emu_f16";
inline constexpr const char* kCopyShader = "probe/copy_u32x4";

class Context;

// The tile the coopmat probe uses: 16x16x16, A and B f16, C and result f32, subgroup scope.
CoopMatShape coopmat_probe_shape();
// Requirements of the coopmat probe kernel (shape, fp16, 16-bit storage).
KernelRequirements coopmat_probe_requirements();
// Candidates for the probe tile multiply, best first (only the coopmat one: there is no
// portable variant of this probe, so selection yields it or nothing).
std::span<const KernelVariant> coopmat_probe_variants();

// The result of the copy probe: bytes read plus bytes written per second of the best run (the
// STREAM "copy" convention), with how it was measured.
struct CopyProbe {
  double bytes_per_second = 0.0;
  uint64_t buffer_bytes = 0;  // size of the source (and of the destination)
  int runs = 0;               // timed runs; the best one is reported
  bool timestamps = false;    // timed by GPU timestamps (else host wall time around the submit)
};

// Copies one device buffer into another `runs` times after a warm-up and reports the best rate.
// `buffer_bytes` 0 picks 64 MiB (well above the last-level caches of CPUs and GPUs, so the copy
// streams from memory), capped by the device's buffer limits and an eighth of its local memory.
CopyProbe measure_copy_bandwidth(const std::shared_ptr<Context>& context, uint64_t buffer_bytes = 0, int runs = 5);

}  // namespace vkgraph::vk
