#pragma once
// The one interface every backend implements (cpu, vulkan, cuda). A model uploads its weights
// through it once; a Plan is prepared into an Executable that runs many times.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/backend/device_record.h"
#include "engine/graph/plan.h"
#include "engine/graph/storage.h"

namespace vkgraph {

struct DispatchTiming {
  TensorId node;
  std::string kernel;   // the kernel (shader variant) that ran it
  double gpu_ms = 0.0;  // from timestamp queries where the device has them, else 0
};

// Host time of one Executable::run(), for `vkgraph bench`: what the host spends before the
// device can start (from entering run() to the submission call returning) and the whole call.
struct RunHostTime {
  double submit_ms = 0.0;
  double total_ms = 0.0;
};

class Executable {
 public:
  virtual ~Executable() = default;
  // Copies host data into an input tensor (shape and dtype as declared in the graph).
  virtual void set_input(TensorId id, std::span<const std::byte> data) = 0;
  // Runs every step and waits for the result.
  virtual void run() = 0;
  // Copies an output tensor (marked with Graph::mark_output) to the host.
  virtual void read_output(TensorId id, std::span<std::byte> out) = 0;
  // How many times a command buffer was recorded (Vulkan records once and replays; 0 elsewhere).
  virtual size_t record_count() const { return 0; }
  // Per-dispatch timings of the last run when profiling was asked for at prepare time.
  virtual std::vector<DispatchTiming> timings() const { return {}; }
  // Device bytes this executable holds (arena, inputs, outputs).
  virtual size_t device_bytes() const { return 0; }
  // Estimated device bytes one run reads (the sum of its dispatches' estimates); 0 where the
  // backend has no such estimate.
  virtual uint64_t bytes_read_estimate() const { return 0; }
  // Host time of the last run(); nullopt where the backend does not measure it.
  virtual std::optional<RunHostTime> last_run_host_time() const { return std::nullopt; }
  // The lowered dispatches, one line each (kernel, workgroups, bindings), for `vkgraph plan`;
  // empty for backends that run the plan's steps directly. `reasons`: also why each kernel was
  // chosen (`vkgraph plan -v`: the kernel table row and its `why`).
  virtual std::string describe(bool reasons) const {
    (void)reasons;
    return {};
  }
};

struct PrepareOptions {
  bool profile = false;  // collect per-dispatch timings
  // Out-of-bounds write detection for tests: when non-zero, every output buffer gets this many
  // canary-filled bytes before and after it, and read_output checks them and throws an Error
  // naming the tensor if any was overwritten. 0 in production (no padding, no check).
  size_t guard_bytes = 0;
};

// The kernel a backend that chooses among several would run for a node (Backend::kernel_choice).
struct KernelChoice {
  std::string kernel;  // e.g. the Vulkan kernel table's row name
  std::string path;    // the kind of kernel: "coopmat" or "portable" on Vulkan
  std::string why;     // the reason its selection table gives
};

// The device's memory bandwidth as a copy measures it (Backend::measure_copy_bandwidth).
struct CopyBandwidth {
  double bytes_per_second = 0.0;  // bytes read + written per second
  std::string method;             // how it was measured, e.g. "copy shader, timestamps"
};

// A weight about to be uploaded, for Backend::check_weights_fit.
struct WeightSize {
  std::string name;
  size_t bytes = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;         // "cpu", "vulkan"
  virtual std::string device_name() const = 0;  // for logs and bench rows

  // Throws an Error, before anything is allocated, when these weights cannot all live on the
  // device: one larger than the device's largest buffer (naming the tensor, its size and the
  // limit) or a total over the device's memory (naming both). Backends without such limits
  // accept everything.
  virtual void check_weights_fit(std::span<const WeightSize> weights) const { (void)weights; }
  // A read-only copy of `data` on the device (weights).
  virtual std::shared_ptr<Storage> upload(std::span<const std::byte> data) = 0;
  // Zero-filled read-write storage (KV cache).
  virtual std::shared_ptr<Storage> allocate_state(size_t bytes) = 0;
  // Reads back part of a storage (tests, debugging, saving a session).
  virtual void read_storage(const Storage& storage, size_t offset, std::span<std::byte> out) = 0;
  // Writes part of a storage (restoring a session, tests).
  virtual void write_storage(Storage& storage, size_t offset, std::span<const std::byte> data) = 0;

  virtual std::unique_ptr<Executable> prepare(const Plan& plan, const PrepareOptions& options = {}) = 0;

  // Device bytes held by storages (weights and state).
  virtual size_t storage_bytes() const = 0;

  // The device it runs on, as the registry lists it (registry.h).
  virtual DeviceRecord device_record() const;

  // Whether it runs `op` on data of `type`: the type that picks the kernel (the weights of a
  // matmul, the table of get_rows, the cache of attention, the source of kv_write and convert,
  // else the first input's). A caller can refuse a model's weights before uploading them.
  virtual bool supports(OpKind op, DType type) const = 0;

  // The fused ops (graph.h: fused_op_kinds) it runs; fusion makes no other (plan_options).
  virtual std::vector<OpKind> fused_ops() const { return {}; }
  // Plan options for plans this backend runs: fusion limited to its fused ops.
  PlanOptions plan_options() const {
    PlanOptions options;
    options.fused_ops = fused_ops();
    return options;
  }

  // The kernel it would run for `node` of `graph`, for backends that choose among several
  // (benchmark rows, `vkgraph plan`); nullopt for those with one kernel per op.
  virtual std::optional<KernelChoice> kernel_choice(const Graph& graph, const Node& node) const {
    (void)graph;
    (void)node;
    return std::nullopt;
  }

  // Measures its memory bandwidth with a copy; nullopt where the backend has no probe.
  virtual std::optional<CopyBandwidth> measure_copy_bandwidth() { return std::nullopt; }
};

}  // namespace vkgraph
