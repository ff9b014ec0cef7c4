#include "engine/backend/vulkan/probe_kernels.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include "engine/backend/vulkan/command.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/push/probe.h"
#include "engine/core/error.h"

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

namespace vkgraph::vk {
namespace {

// 64 MiB: larger than any CPU's or GPU's last-level cache today, so the copy streams from memory.
constexpr uint64_t kDefaultCopyBytes = uint64_t(64) << 20;
// One uvec4 per loop iteration of the shader.
constexpr uint64_t kWordBytes = 16;

}  // namespace

CopyProbe measure_copy_bandwidth(const std::shared_ptr<Context>& context, uint64_t buffer_bytes, int runs) {
  VKGRAPH_CHECK(runs > 0, "the copy probe needs at least one run (got {})", runs);
  const DeviceInfo& info = context->info();
  MemoryAllocator& memory = context->memory();
  uint64_t bytes = buffer_bytes > 0 ? buffer_bytes : kDefaultCopyBytes;
  bytes = std::min({bytes, memory.max_buffer_bytes(), uint64_t(info.max_storage_buffer_range)});
  if (const uint64_t local = info.device_local_bytes(); local > 0) bytes = std::min(bytes, local / 8);
  // The shader's element count is a 32-bit push constant.
  bytes = std::min(bytes, uint64_t(UINT32_MAX) * kWordBytes);
  bytes = bytes / kWordBytes * kWordBytes;
  VKGRAPH_CHECK(bytes >= kWordBytes, "device '{}' leaves no room for the copy probe's buffers", info.name);
  const auto words = uint32_t(bytes / kWordBytes);

  Buffer src = memory.allocate(bytes, "copy probe source");
  Buffer dst = memory.allocate(bytes, "copy probe destination");
  memory.fill_zero(src);

  const uint32_t workgroup = std::min({256u, info.max_workgroup_invocations, info.max_workgroup_size[0]});
  const Pipeline& pipeline = context->pipelines().get({kCopyShader, {workgroup}, 2, sizeof(ProbeCountPush)});
  // Enough workgroups to fill any device, capped by the dispatch limit; the shader's grid-stride
  // loop covers the rest.
  const uint32_t groups =
      uint32_t(std::min<uint64_t>({(uint64_t(words) + workgroup - 1) / workgroup, 65535, info.max_workgroup_count[0]}));

  Sequence seq(context, 1);
  seq.begin();
  seq.bind(pipeline);
  seq.bind_buffers({src.range(), dst.range()});
  seq.push(ProbeCountPush{words});
  seq.begin_region("copy");
  seq.dispatch(groups);
  seq.end_region();
  seq.end();

  CopyProbe result;
  result.buffer_bytes = bytes;
  result.runs = runs;
  seq.submit_and_wait();  // warm-up: first-touch page faults on CPU drivers, clocks ramping up on GPUs
  double best_seconds = 0.0;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    seq.submit_and_wait();
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::vector<RegionTiming> t = seq.timings();
    result.timestamps = !t.empty();
    const double seconds = result.timestamps ? t[0].ms / 1e3 : wall;
    if (seconds > 0.0 && (best_seconds == 0.0 || seconds < best_seconds)) best_seconds = seconds;
  }
  VKGRAPH_CHECK(best_seconds > 0.0, "the copy probe on device '{}' measured no time", info.name);
  result.bytes_per_second = 2.0 * double(bytes) / best_seconds;
  return result;
}

}  // namespace vkgraph::vk
