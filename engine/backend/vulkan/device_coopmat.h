#pragma once
// Which cooperative-matrix shape a device runs the COOPMAT kernels at, and the switches around
// them, read from the environment when a device is probed:
//   VKGRAPH_EMULATE_COOPMAT=MxNxK[,...]  a device without VK_KHR_cooperative_matrix reports
//       these f16 x f16 + f32 -> f32 subgroup shapes as emulated: the kernel table then picks the
//       COOPMAT_EMULATED variants (shaders/common/coopmat_emulated.glsl), the same kernel source
//       over subgroup operations and shared memory. For CI on lavapipe; never faster.
//   VKGRAPH_DISABLE_COOPMAT=1  no cooperative-matrix kernel is chosen (native or emulated): the
//       switch for a driver whose cooperative matrices are broken (`--no-coopmat` sets it).
// The kernels take the shape as specialization constants (common/coopmat.glsl, ids 10-13), so
// a device's own shape is used rather than one fixed size.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

// The shapes of a VKGRAPH_EMULATE_COOPMAT value ("16x16x16,8x8x16"), as f16 x f16 + f32 -> f32
// at subgroup scope. Throws Error naming the variable and the bad entry; each of M, N, K must be
// 8 or 16 (what the kernels tile by: common/coopmat.glsl).
std::vector<CoopMatShape> parse_coopmat_shapes(std::string_view text);

// Applies VKGRAPH_EMULATE_COOPMAT and VKGRAPH_DISABLE_COOPMAT to a probed device (logged).
void apply_coopmat_environment(DeviceInfo& info);

// True when VKGRAPH_DISABLE_COOPMAT is set to anything but "" or "0".
bool coopmat_disabled_by_environment();

// The shape the COOPMAT kernels run at on `info`: of the device's f16 x f16 + f32 -> f32
// subgroup shapes (listed natively, or emulated when `emulated`) with M, N and K each 8 or 16,
// the largest (most multiply-adds per operation; 16 rows before 8 on ties). For the emulation
// also only where a fragment fits CM_MAX_FRAGMENT over the device's smallest subgroup.
// nullopt when there is none.
std::optional<CoopMatShape> device_coopmat_shape(const DeviceInfo& info, bool emulated);

// The emulation's extra shared memory for a workgroup of `workgroup` invocations (A and B of
// one product per subgroup, f16: cm_scratch), and the subgroup count it is sized by
// (specialization constant 13: workgroup / the device's smallest subgroup size).
uint32_t coopmat_emulation_subgroups(const DeviceInfo& info, uint32_t workgroup);

// How many of a BM x BN tile's `shape` sub-tiles each subgroup of a `workgroup`-invocation
// workgroup holds accumulators for in shaders/matmul/matmul_coopmat.comp (specialization
// constant 4): the sub-tiles over the fewest subgroups the workgroup can have (the device's
// largest subgroup size), rounded up, so one pass of the K loop covers the tile.
uint32_t coopmat_accumulators_per_subgroup(const DeviceInfo& info, const CoopMatShape& shape, uint32_t workgroup,
                                           uint32_t bm, uint32_t bn);
uint32_t coopmat_emulation_scratch_bytes(const DeviceInfo& info, const CoopMatShape& shape, uint32_t workgroup);

// The specialization constants 10-14 of common/coopmat.glsl appended to `spec` (constant i at
// index i: the unused ids between are zero-filled and ignored by the pipeline): the shape, the
// emulation's subgroup bound, and whether `info`'s subgroups run in lockstep (a CPU driver).
void append_coopmat_constants(std::vector<uint32_t>& spec, const CoopMatShape& shape, uint32_t subgroups,
                              const DeviceInfo& info);

}  // namespace vkgraph::vk
