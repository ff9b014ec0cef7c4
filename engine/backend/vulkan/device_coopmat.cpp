#include "engine/backend/vulkan/device_coopmat.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string>

#include "engine/core/error.h"
#include "engine/core/log.h"

namespace vkgraph::vk {
namespace {

constexpr const char* kEmulateVar = "VKGRAPH_EMULATE_COOPMAT";
// CM_MAX_FRAGMENT of shaders/common/coopmat_emulated.glsl: elements per invocation.
constexpr uint32_t kMaxFragment = 64;

bool kernel_size(uint32_t s) { return s == 8 || s == 16; }

bool kernel_shape(const CoopMatShape& s) {
  return kernel_size(s.m) && kernel_size(s.n) && kernel_size(s.k) && s.a == VK_COMPONENT_TYPE_FLOAT16_KHR &&
         s.b == VK_COMPONENT_TYPE_FLOAT16_KHR && s.c == VK_COMPONENT_TYPE_FLOAT32_KHR &&
         s.result == VK_COMPONENT_TYPE_FLOAT32_KHR && s.scope == VK_SCOPE_SUBGROUP_KHR;
}

uint32_t smallest_subgroup(const DeviceInfo& info) {
  const uint32_t s =
      info.subgroup_size_control ? std::min(info.min_subgroup_size, info.subgroup_size) : info.subgroup_size;
  return std::max<uint32_t>(s, 1);
}

}  // namespace

std::vector<CoopMatShape> parse_coopmat_shapes(std::string_view text) {
  std::vector<CoopMatShape> shapes;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string_view entry = text.substr(start, end - start);
    uint32_t size[3] = {};
    const char* p = entry.data();
    const char* const last = entry.data() + entry.size();
    bool ok = !entry.empty();
    for (int i = 0; i < 3 && ok; ++i) {
      const auto [next, ec] = std::from_chars(p, last, size[i]);
      ok = ec == std::errc() && (i < 2 ? next < last && (*next == 'x' || *next == 'X') : next == last);
      p = next + 1;
    }
    VKGRAPH_CHECK(ok, "{}='{}': '{}' is not MxNxK (e.g. 16x16x16,8x8x16)", kEmulateVar, text, entry);
    CoopMatShape s;
    s.m = size[0];
    s.n = size[1];
    s.k = size[2];
    VKGRAPH_CHECK(kernel_shape(s), "{}='{}': shape {} has a size other than 8 or 16, which the kernels cannot tile by",
                  kEmulateVar, text, entry);
    shapes.push_back(s);
    start = end + 1;
  }
  return shapes;
}

bool coopmat_disabled_by_environment() {
  const char* v = std::getenv("VKGRAPH_DISABLE_COOPMAT");
  return v != nullptr && *v != '\0' && std::string_view(v) != "0";
}

void apply_coopmat_environment(DeviceInfo& info) {
  if (coopmat_disabled_by_environment()) {
    if (info.has_cooperative_matrix) {
      log::info("device '{}': cooperative matrices off (VKGRAPH_DISABLE_COOPMAT)", info.name);
    }
    info.has_cooperative_matrix = false;
    info.coopmat_emulated = false;
    info.coopmat_shapes.clear();
    return;
  }
  const char* value = std::getenv(kEmulateVar);
  if (value == nullptr || *value == '\0') return;
  std::vector<CoopMatShape> shapes = parse_coopmat_shapes(value);
  if (info.has_cooperative_matrix) {
    log::info("device '{}' has VK_KHR_cooperative_matrix: {} is ignored", info.name, kEmulateVar);
    return;
  }
  info.coopmat_emulated = true;
  info.coopmat_shapes = std::move(shapes);
  log::info("device '{}': cooperative matrices emulated at {} ({})", info.name, value, kEmulateVar);
}

std::optional<CoopMatShape> device_coopmat_shape(const DeviceInfo& info, bool emulated) {
  if (emulated ? !info.coopmat_emulated : !info.has_cooperative_matrix) return std::nullopt;
  std::optional<CoopMatShape> best;
  for (const CoopMatShape& s : info.coopmat_shapes) {
    if (!kernel_shape(s)) continue;
    if (emulated) {
      const uint32_t lanes = smallest_subgroup(info);
      const uint32_t largest = std::max({s.m * s.k, s.k * s.n, s.m * s.n});
      if (lanes < 4 || (largest + lanes - 1) / lanes > kMaxFragment) continue;
    }
    const auto volume = [](const CoopMatShape& x) { return uint64_t(x.m) * x.n * x.k; };
    if (!best || volume(s) > volume(*best) || (volume(s) == volume(*best) && s.m > best->m)) best = s;
  }
  return best;
}

uint32_t coopmat_emulation_subgroups(const DeviceInfo& info, uint32_t workgroup) {
  return std::max<uint32_t>(workgroup / smallest_subgroup(info), 1);
}

uint32_t coopmat_accumulators_per_subgroup(const DeviceInfo& info, const CoopMatShape& shape, uint32_t workgroup,
                                           uint32_t bm, uint32_t bn) {
  VKGRAPH_CHECK(shape.m != 0 && shape.n != 0 && bm % shape.m == 0 && bn % shape.n == 0,
                "cooperative-matrix tile {} x {} is not a whole number of {} x {} sub-tiles", bm, bn, shape.m, shape.n);
  const uint32_t largest = std::max<uint32_t>(
      info.subgroup_size_control ? std::max(info.max_subgroup_size, info.subgroup_size) : info.subgroup_size, 1);
  const uint32_t subgroups = std::max<uint32_t>(workgroup / largest, 1);
  const uint32_t sub_tiles = (bm / shape.m) * (bn / shape.n);
  return (sub_tiles + subgroups - 1) / subgroups;
}

uint32_t coopmat_emulation_scratch_bytes(const DeviceInfo& info, const CoopMatShape& shape, uint32_t workgroup) {
  return coopmat_emulation_subgroups(info, workgroup) * (shape.m * shape.k + shape.k * shape.n) * 2;
}

void append_coopmat_constants(std::vector<uint32_t>& spec, const CoopMatShape& shape, uint32_t subgroups,
                              const DeviceInfo& info) {
  VKGRAPH_CHECK(spec.size() <= 10, "cooperative-matrix kernel with {} specialization constants before id 10",
                spec.size());
  spec.resize(10, 0);
  // CPU drivers (lavapipe) run a subgroup as one SIMD vector: CM_LOCKSTEP.
  spec.insert(spec.end(), {shape.m, shape.n, shape.k, subgroups, info.is_cpu() ? 1u : 0u});
}

}  // namespace vkgraph::vk
