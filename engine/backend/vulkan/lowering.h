#pragma once
// Lowering one plan step to one dispatch: the kernel's bindings, push constants, specialization
// constants and workgroup counts. One lower_* function per op family (lowering_*.cpp); they
// only compute parameters, the executable creates pipelines and records.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend/vulkan/device_info.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/backend/vulkan/push/layout.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"

namespace vkgraph::vk {

// A tensor ready to bind: a descriptor range whose offset is aligned down to the device's
// minStorageBufferOffsetAlignment, and the tensor's first element inside that range in units
// of the shader's array type (the `*_off` push constants).
struct BoundTensor {
  BufferRange range;
  uint32_t offset = 0;
};

// Resolves a tensor to the buffer that holds it (arena, input, output or storage).
class TensorBinder {
 public:
  virtual ~TensorBinder() = default;
  // `unit_bytes`: the size of one element of the array the shader declares for it.
  virtual BoundTensor bind(TensorId id, uint32_t unit_bytes) const = 0;
  // Bytes [first, first + bytes) of the tensor only: a range of a weight's rows, for a tensor
  // larger than one binding (lowering_row_ranges.cpp).
  virtual BoundTensor bind_part(TensorId id, uint32_t unit_bytes, size_t first, size_t bytes) const = 0;
};

struct Dispatch {
  TensorId node;
  const KernelRow* kernel = nullptr;
  std::vector<uint32_t> spec_constants;  // constant_id 0.. (0 is the workgroup size)
  std::vector<BufferRange> buffers;      // bindings 0..n-1
  uint32_t uniform_bindings = 0;         // bit i: binding i is a uniform buffer (else storage)
  std::vector<TensorId> bound;           // the tensor of each binding
  std::vector<std::byte> push;           // the push-constant block
  uint32_t groups[3] = {1, 1, 1};
  uint64_t bytes_read = 0;  // estimates, for `vkgraph plan` and profiles
  uint64_t bytes_written = 0;
};

// A row the table chose that cannot launch this node after all (no tile of the kernel fits the
// node's shape in the row's shared-memory budget): the executable tries the table's next row.
class RowDoesNotFit : public Error {
 public:
  using Error::Error;
};

// One dispatch of a step whose weight is larger than one binding (lowering_row_ranges.cpp): the
// weight's rows [first, first + count) and, for a matmul of several tokens, the one token it
// computes.
struct RowRange {
  uint64_t first = 0;
  uint64_t count = 0;
  std::optional<uint32_t> token;
};

struct RopeKvWrites;  // lowering_rope_kv.h

struct LoweringInput {
  const Plan& plan;
  TensorId id;
  const KernelRow& kernel;
  const TensorBinder& binder;
  const DeviceInfo& device;
  const RowRange* rows = nullptr;         // get_rows and matmul: only these rows of the weight
  const RopeKvWrites* rope_kv = nullptr;  // rope: the kv_write steps its dispatch performs (with
                                          // rope_after: that rope's)
  TensorId norm_after{};                  // matmul_add: the rms_norm_mul of its result it performs
  TensorId rope_after{};                  // matmul_cat: the rope of its result it performs

  const Graph& graph() const { return plan.graph(); }
  const Node& node() const { return plan.graph().node(id); }
  const Node& input(size_t i) const { return plan.graph().node(node().inputs.at(i)); }
  TensorId input_id(size_t i) const { return node().inputs.at(i); }
};

// The dispatch of one step; the kernel row's family decides the lowering.
Dispatch lower_step(const LoweringInput& in);

// A step lowered to one or more dispatches (split-K decode attention: partial results, then their
// reduction). They run in order with a barrier between each two. `scratch_bytes`: memory the
// step needs beyond its tensors, bound with add_scratch_binding; the executable gives every step
// its own range of one scratch buffer (so no step's scratch is another's hazard) and fills in
// the buffer before recording.
struct LoweredStep {
  std::vector<Dispatch> dispatches;
  uint64_t scratch_bytes = 0;
};
LoweredStep lower_step_dispatches(const LoweringInput& in);  // lower_step unless the step needs more
// get_rows and matmul of a weight larger than one binding: a dispatch per range of its rows.
bool needs_row_ranges(const LoweringInput& in);
LoweredStep lower_row_ranges(const LoweringInput& in);       // lowering_row_ranges.cpp
LoweredStep lower_attention_split(const LoweringInput& in);  // lowering_attention_split.cpp
LoweredStep lower_attention_paged(const LoweringInput& in);  // lowering_attention_paged.cpp

Dispatch lower_elementwise(const LoweringInput& in);  // add mul scale silu swiglu convert
Dispatch lower_row_op(const LoweringInput& in);       // rms_norm rms_norm_mul rms_norm_low_rank softmax argmax
Dispatch lower_rope(const LoweringInput& in);
Dispatch lower_rope_kv(const LoweringInput& in);  // lowering_rope_kv.cpp
Dispatch lower_matmul(const LoweringInput& in);   // every matmul_* family
Dispatch lower_get_rows(const LoweringInput& in);
Dispatch lower_attention(const LoweringInput& in);       // attention_tiled (prefill)
Dispatch lower_attention_rows(const LoweringInput& in);  // attention_rows (prefill, CPU-class devices)
Dispatch lower_kv_write(const LoweringInput& in);

// --- helpers shared by the lowering files ---

// Bytes of one element of the array a shader declares for `type`: quantized blocks are read as
// uint16_t words (see shaders/common/types.glsl).
uint32_t unit_bytes(DType type);

// A count as the uint32 a shader takes; Error naming the tensor when it does not fit.
uint32_t checked_u32(uint64_t value, const Node& node, const char* what);

// Starts a dispatch for `in` with the row's workgroup size (and tile constants when given).
Dispatch begin_dispatch(const LoweringInput& in, std::vector<uint32_t> extra_spec = {});
// For a cooperative-matrix kernel (native or emulated): the shape it runs at on this device and
// the emulation's subgroup bound, as specialization constants 10-13 (shaders/common/coopmat.glsl).
// Returns the shape.
CoopMatShape add_coopmat_constants(Dispatch& d, const LoweringInput& in);

// Binds `id` as the next binding and returns its element offset.
uint32_t add_binding(Dispatch& d, const LoweringInput& in, TensorId id, uint32_t unit);
// Binds the rows in.rows names of weight `id` (all of them without a range) as the next binding
// and returns the element offset of the range's first row.
uint32_t add_weight_rows_binding(Dispatch& d, const LoweringInput& in, TensorId id, uint32_t unit);

// Binds bytes [offset, offset + bytes) of the step's scratch as the next binding (its tensor id
// is invalid and its buffer VK_NULL_HANDLE until the executable fills it in).
void add_scratch_binding(Dispatch& d, uint64_t offset, uint64_t bytes);

// Workgroup counts for `groups` flattened workgroups, split over x and y so that x stays under
// maxComputeWorkGroupCount[0] (shaders/common/grid.glsl folds them back).
void set_groups(Dispatch& d, uint64_t groups, const DeviceInfo& device, const Node& node);

// Whether the row kernels read the activations bound at `x` through a uniform-buffer view
// (matmul/x_words.glsl, bind_x_uniform in lowering_matmul.cpp): on a CPU-class device, read as
// vec4 (`x_vec4`), in whole 16-byte words, within maxUniformBufferRange and at an offset
// aligned for a uniform buffer.
bool x_uniform_view(const DeviceInfo& device, const BufferRange& x, bool x_vec4);

// Throws Error unless the dispatch's shader takes `push_struct` (its vkgraph_shader PUSH, which
// the build checked against the shader's SPIR-V).
void check_push_struct(const Dispatch& d, std::string_view push_struct);

// Copies the push-constant struct (engine/backend/vulkan/push/: scalars of 4 bytes, which std430
// packs as declared), after checking that the dispatch's shader takes that struct.
template <typename T>
void set_push(Dispatch& d, const T& params) {
  static_assert(sizeof(T) % 4 == 0);
  check_push_struct(d, PushStruct<T>::name);
  d.push.resize(sizeof(T));
  std::memcpy(d.push.data(), &params, sizeof(T));
}

// Rows of a tensor: every dimension but the last.
inline uint64_t rows_of(const Shape& shape) {
  return shape.empty() ? 1 : uint64_t(element_count(shape) / shape.back());
}

}  // namespace vkgraph::vk
