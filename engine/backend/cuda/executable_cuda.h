#pragma once
// A Plan prepared for a CUDA device: the arena, input and output buffers (outputs with guard
// bands when asked for) and, per step, the kernels of step_launch.h. run() enqueues every step
// on the stream in plan order (a stream runs them in order, so the plan's barriers hold) and
// waits; a step that found a bad index fails the run with an Error naming it.

#include <map>
#include <string>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/cuda/device_buffer.h"

struct CUevent_st;

namespace vkgraph::cuda {

class CudaExecutable final : public Executable {
 public:
  CudaExecutable(int device, const Plan& plan, const PrepareOptions& options);
  ~CudaExecutable() override;

  void set_input(TensorId id, std::span<const std::byte> data) override;
  void run() override;
  void read_output(TensorId id, std::span<std::byte> out) override;
  std::vector<DispatchTiming> timings() const override;
  size_t device_bytes() const override;
  std::string describe(bool reasons) const override;

 private:
  struct OwnBuffer {  // an input's or output's buffer; outputs have guard bands around them
    DeviceBuffer buffer;
    size_t guard = 0;
    size_t bytes = 0;
  };

  std::byte* address(TensorId id) const;
  const OwnBuffer& own_buffer(const std::map<int32_t, OwnBuffer>& buffers, TensorId id, const char* what) const;
  void report_bad_index(int code) const;

  int device_;
  Plan plan_;  // a copy: keeps the graph and its weight and state storages alive
  PrepareOptions options_;
  DeviceBuffer arena_;
  DeviceBuffer scratch_;                  // the largest step_scratch_bytes of the plan
  DeviceBuffer error_;                    // one int: 0, or the number + 1 of a step that found a bad index
  std::map<int32_t, OwnBuffer> inputs_;   // by node index
  std::map<int32_t, OwnBuffer> outputs_;  // by node index
  std::vector<std::string> kernels_;      // per step
  std::vector<CUevent_st*> events_;       // per step boundary when profiling
  std::vector<double> step_ms_;           // of the last run, when profiling
};

}  // namespace vkgraph::cuda
