#pragma once
// The runtime's own kernels (shaders/probe): the vector add that exercises the whole path
// (memory, pipeline, recording, timestamps), and the cooperative-matrix tile multiply whose
// selection rule every COOPMAT kernel of the op table follows.

#include <span>

#include "engine/backend/vulkan/kernel_requirements.h"

namespace vkgraph::vk {

inline constexpr const char* kVectorAddShader = "probe/vector_add_f32";
inline constexpr const char* kCoopMatTileShader = "probe/coopmat_16x16x16_f16";

// The tile the coopmat probe uses: 16x16x16, A and B f16, C and result f32, subgroup scope.
CoopMatShape coopmat_probe_shape();
// Requirements of the coopmat probe kernel (shape, fp16, 16-bit storage).
KernelRequirements coopmat_probe_requirements();
// Candidates for the probe tile multiply, best first (only the coopmat one: there is no
// portable variant of this probe, so selection yields it or nothing).
std::span<const KernelVariant> coopmat_probe_variants();

}  // namespace vkgraph::vk
