#include <algorithm>

#include "engine/backend/vulkan/device_coopmat.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/lowering_add_norm.h"
#include "engine/backend/vulkan/lowering_cat_rope.h"
#include "engine/core/error.h"
#include "shaders/embedded.h"

namespace vkgraph::vk {

// F32 and I32 bind as 32-bit elements; F16 and every block type (all of whose blocks are a whole
// number of 16-bit words, none of 32-bit ones) as uint16_t words.
uint32_t unit_bytes(DType type) { return type == DType::F32 || type == DType::I32 ? 4 : 2; }

uint32_t checked_u32(uint64_t value, const Node& node, const char* what) {
  VKGRAPH_CHECK(value <= UINT32_MAX, "tensor '{}' ({}): {} = {} exceeds the 32-bit indices of the Vulkan kernels",
                node.name, op_name(node.op), what, value);
  return uint32_t(value);
}

Dispatch begin_dispatch(const LoweringInput& in, std::vector<uint32_t> extra_spec) {
  Dispatch d;
  d.node = in.id;
  d.kernel = &in.kernel;
  d.spec_constants.push_back(in.kernel.workgroup_size);
  for (uint32_t c : extra_spec) d.spec_constants.push_back(c);
  return d;
}

CoopMatShape add_coopmat_constants(Dispatch& d, const LoweringInput& in) {
  const KernelRequirements& req = in.kernel.variant.requirements;
  const std::optional<CoopMatShape> shape =
      req.coopmat->m != 0 ? req.coopmat : device_coopmat_shape(in.device, req.coopmat_emulated);
  VKGRAPH_CHECK(shape.has_value(), "{}: device '{}' has no cooperative-matrix shape for kernel {}", in.node().name,
                in.device.name, in.kernel.variant.shader);
  append_coopmat_constants(d.spec_constants, *shape, coopmat_emulation_subgroups(in.device, in.kernel.workgroup_size),
                           in.device);
  return *shape;
}

uint32_t add_binding(Dispatch& d, const LoweringInput& in, TensorId id, uint32_t unit) {
  const BoundTensor bound = in.binder.bind(id, unit);
  d.buffers.push_back(bound.range);
  d.bound.push_back(id);
  return bound.offset;
}

uint32_t add_weight_rows_binding(Dispatch& d, const LoweringInput& in, TensorId id, uint32_t unit) {
  if (in.rows == nullptr) return add_binding(d, in, id, unit);
  const Node& w = in.graph().node(id);
  const uint64_t row = row_bytes(w.dtype, w.shape.at(1));
  const BoundTensor bound = in.binder.bind_part(id, unit, in.rows->first * row, in.rows->count * row);
  d.buffers.push_back(bound.range);
  d.bound.push_back(id);
  return bound.offset;
}

void add_scratch_binding(Dispatch& d, uint64_t offset, uint64_t bytes) {
  d.buffers.push_back({VK_NULL_HANDLE, offset, bytes});
  d.bound.push_back(TensorId{});
}

void set_groups(Dispatch& d, uint64_t groups, const DeviceInfo& device, const Node& node) {
  groups = std::max<uint64_t>(groups, 1);
  const uint64_t max_x = std::max<uint32_t>(device.max_workgroup_count[0], 1);
  const uint64_t x = std::min(groups, max_x);
  const uint64_t y = (groups + x - 1) / x;
  VKGRAPH_CHECK(y <= std::max<uint32_t>(device.max_workgroup_count[1], 1),
                "tensor '{}' ({}) needs {} workgroups, more than device '{}' can launch ({} x {})", node.name,
                op_name(node.op), groups, device.name, device.max_workgroup_count[0], device.max_workgroup_count[1]);
  d.groups[0] = uint32_t(x);
  d.groups[1] = uint32_t(y);
  d.groups[2] = 1;
}

void check_push_struct(const Dispatch& d, std::string_view push_struct) {
  VKGRAPH_CHECK(d.kernel != nullptr, "a dispatch without a kernel row sets push constants {}", push_struct);
  const std::string_view shader = d.kernel->variant.shader;
  const shaders::EmbeddedShader* embedded = shaders::find(shader);
  VKGRAPH_CHECK(embedded != nullptr, "kernel row names shader '{}', which is not embedded in this build", shader);
  VKGRAPH_CHECK(embedded->push_struct == push_struct,
                "shader '{}' takes the push constants {} (its PUSH in shaders.cmake), but its lowering fills {}",
                shader, embedded->push_struct.empty() ? std::string_view("(none)") : embedded->push_struct,
                push_struct);
}

Dispatch lower_step(const LoweringInput& in) {
  switch (in.kernel.family) {
    case KernelFamily::elementwise:
      return lower_elementwise(in);
    case KernelFamily::row_reduction:
      return lower_row_op(in);
    case KernelFamily::rope:
      return lower_rope(in);
    case KernelFamily::rope_kv:
      return lower_rope_kv(in);
    case KernelFamily::get_rows:
      return lower_get_rows(in);
    case KernelFamily::kv_write:
      return lower_kv_write(in);
    case KernelFamily::matmul_matvec:
    case KernelFamily::matmul_rows:
    case KernelFamily::matmul_rows_tokens:
    case KernelFamily::matmul_dot8:
    case KernelFamily::matmul_tiled:
      return lower_matmul(in);
    case KernelFamily::attention_tiled:
      return lower_attention(in);
    case KernelFamily::attention_rows:
      return lower_attention_rows(in);
    case KernelFamily::attention_split:
    case KernelFamily::attention_reduce:
    case KernelFamily::attention_paged:
    case KernelFamily::attention_paged_direct:
      break;  // several dispatches: lower_step_dispatches
  }
  fail("tensor '{}' ({}): kernel {} of family {} is not one dispatch", in.node().name, op_name(in.node().op),
       in.kernel.variant.shader, kernel_family_name(in.kernel.family));
}

LoweredStep lower_step_dispatches(const LoweringInput& in) {
  if (needs_row_ranges(in)) return lower_row_ranges(in);
  if (in.kernel.family == KernelFamily::attention_split) return lower_attention_split(in);
  if (in.kernel.family == KernelFamily::attention_paged || in.kernel.family == KernelFamily::attention_paged_direct) {
    return lower_attention_paged(in);
  }
  LoweredStep step;
  step.dispatches.push_back(lower_step(in));
  // The arrival counters of the epilogues run by the last subgroup.
  if (in.norm_after.valid()) step.scratch_bytes = kAddNormScratchBytes;
  if (in.rope_after.valid()) step.scratch_bytes = kCatRopeScratchBytes;
  return step;
}

}  // namespace vkgraph::vk
