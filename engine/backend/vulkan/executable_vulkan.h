#pragma once
// A Plan prepared for a Vulkan device: the arena, input and output buffers, one or more dispatches
// per step (kernel from the selection table, parameters from lowering_*.cpp), and a command buffer
// recorded once. run() writes nothing but the inputs (small buffers) and replays it.

#include <map>
#include <memory>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/vulkan/command.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/lowering.h"
#include "engine/backend/vulkan/memory.h"

namespace vkgraph::vk {

class VulkanExecutable final : public Executable, private TensorBinder {
 public:
  VulkanExecutable(std::shared_ptr<Context> context, const Plan& plan, const PrepareOptions& options);
  ~VulkanExecutable() override;

  void set_input(TensorId id, std::span<const std::byte> data) override;
  void run() override;
  void read_output(TensorId id, std::span<std::byte> out) override;
  size_t record_count() const override { return records_; }
  std::vector<DispatchTiming> timings() const override;
  std::optional<double> gpu_run_ms() const override;
  size_t dispatch_count() const override { return dispatches_.size(); }
  size_t device_bytes() const override;
  std::string describe(bool reasons) const override { return describe_dispatches(reasons); }
  uint64_t bytes_read_estimate() const override;
  std::optional<RunHostTime> last_run_host_time() const override { return host_time_; }

  // The lowered dispatches in step order (for `vkgraph plan` and tests).
  const std::vector<Dispatch>& dispatches() const { return dispatches_; }
  // One line per dispatch: kernel, workgroups, specialization constants, and every binding with
  // its tensor, placement, offset and range (what `vkgraph plan --backend vulkan` prints);
  // `reasons`: also the kernel table row that chose the kernel and its `why`.
  std::string describe_dispatches(bool reasons = false) const;

  // Writes bytes into an output's buffer at `offset` from the tensor's first byte; negative or
  // past-the-end offsets reach the guard bands. Tests use it to check that read_output catches
  // a damaged guard.
  void poke_output(TensorId id, std::ptrdiff_t offset, std::span<const std::byte> data);

 private:
  struct OwnBuffer {  // an input's or output's buffer; outputs have guard bands around them
    Buffer buffer;
    size_t guard = 0;
    size_t bytes = 0;
  };

  BoundTensor bind(TensorId id, uint32_t unit_bytes) const override;
  BoundTensor bind_part(TensorId id, uint32_t unit_bytes, size_t first, size_t bytes) const override;
  void allocate_buffers();
  void lower_steps();
  void record();
  void fill_guards(const OwnBuffer& own);
  const OwnBuffer& own_buffer(const std::map<int32_t, OwnBuffer>& buffers, TensorId id, const char* what) const;

  std::shared_ptr<Context> context_;
  Plan plan_;  // a copy: keeps the graph and its weight and state storages alive
  PrepareOptions options_;
  Buffer arena_;
  Buffer scratch_;  // steps' scratch (split-K partials), one range per step; empty if none needs it
  std::map<int32_t, OwnBuffer> inputs_;   // by node index
  std::map<int32_t, OwnBuffer> outputs_;  // by node index
  std::vector<Dispatch> dispatches_;
  std::vector<const Pipeline*> pipelines_;  // per dispatch, owned by the context's cache
  std::vector<bool> barrier_before_;        // per dispatch, from the plan
  std::unique_ptr<Sequence> sequence_;
  size_t records_ = 0;
  std::optional<RunHostTime> host_time_;  // of the last run()
};

}  // namespace vkgraph::vk
