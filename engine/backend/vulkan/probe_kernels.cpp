#include "engine/backend/vulkan/probe_kernels.h"

namespace vkgraph::vk {

CoopMatShape coopmat_probe_shape() {
  CoopMatShape s;
  s.m = s.n = s.k = 16;
  s.a = s.b = VK_COMPONENT_TYPE_FLOAT16_KHR;
  s.c = s.result = VK_COMPONENT_TYPE_FLOAT32_KHR;
  s.scope = VK_SCOPE_SUBGROUP_KHR;
  return s;
}

KernelRequirements coopmat_probe_requirements() {
  KernelRequirements r;
  r.coopmat = coopmat_probe_shape();
  r.needs_fp16 = true;           // float16_t arithmetic in the shader
  r.needs_storage_16bit = true;  // f16 storage buffers A and B
  return r;
}

std::span<const KernelVariant> coopmat_probe_variants() {
  static const KernelVariant variants[] = {{kCoopMatTileShader, coopmat_probe_requirements()}};
  return variants;
}

}  // namespace vkgraph::vk
