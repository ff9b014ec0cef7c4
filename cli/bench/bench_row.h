#pragma once
// What one benchmark measurement reports: the model, the device and the build it ran on, the
// test (pp<N> or tg<N> at a KV depth), tokens/s, and the roofline figures. Every output format
// (bench_format.h) and the plot (bench_plot.h) read these.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vkgraph::bench {

struct ModelReport {
  std::string name;  // general.name, else the file name
  std::string path;
  std::string weight_type;  // the type most weights have: "q4_0", "f16", ...
  uint64_t size_bytes = 0;  // weight bytes on the device
  uint64_t params = 0;      // parameter count
};

struct DeviceReport {
  std::string backend;         // "vulkan", "cpu", "cuda"
  std::string selector;        // what --device resolved to for this backend ("0", "" = default)
  std::string name;            // "llvmpipe (LLVM 15.0.6, 256 bits)"
  std::string vendor;          // "Mesa", "NVIDIA", "GenuineIntel" ...
  std::string driver;          // driver name ("llvmpipe"), "n/a" where there is none
  std::string driver_version;  // decoded per vendor, "n/a" where there is none
  std::string driver_info;     // the driver's own description ("Mesa 25.0.7 (LLVM 15.0.6)"), may be empty
  std::string api_version;     // Vulkan API version of the device, "n/a" off Vulkan
  // The kernel paths the selection table picks for this model on this device: "coopmat",
  // "portable", "coopmat+portable" (some of each), or the backend's name where it has no table.
  std::string matmul_path;
  std::string attention_path;
  double probe_bytes_per_second = 0.0;  // copy bandwidth, bytes read + written per second; 0 unknown
  std::string probe_method;             // how the probe was timed ("timestamps", "wall", "memcpy")
};

// One group of dispatches of the profiled decode step: same op, same kernel.
struct OpShare {
  std::string op;      // "matmul", "attention", ...
  std::string kernel;  // the shader variant (Vulkan) or the op name (backends without kernels)
  int dispatches = 0;
  double ms = 0.0;
  double share = 0.0;  // of the timed step's wall time, 0..1
  double bytes = 0.0;  // estimated bytes read + written by these dispatches
  double gb_per_s = 0.0;
};

// Per-op breakdown of one step at the row's depth (tg rows: one token; pp rows: the prompt
// batch), from timestamp queries.
struct OpProfile {
  int64_t n_tokens = 1;
  double step_ms = 0.0;          // wall time (submit to results) of the fastest timed run
  double ops_ms = 0.0;           // sum of the per-op times of that run
  double untimed_step_ms = 0.0;  // the fastest run of the step without timestamps, for their cost
  int runs = 0;
  std::vector<OpShare> ops;  // largest time first
};

// Overheads of one replayed decode step at the row's depth (tg rows; cli/bench/step_costs.h).
struct DecodeStepCosts {
  // The dispatches' estimated reads of the step against the weights plus the K/V of the
  // positions it attends; their ratio is the "bytes read <= 1.2x" figure. Unset where
  // the backend gives no estimate.
  std::optional<double> bytes_read;
  double bytes_needed = 0.0;
  std::optional<double> bytes_ratio;
  // Host work of the step: building and uploading the inputs, run() up to the return of the
  // submission call, and reading the logits back; against the whole step as the host sees it.
  // Unset where the backend does not time its submission.
  std::optional<double> host_ms;
  double step_ms = 0.0;
  std::optional<double> host_percent;  // 100 x host_ms / step_ms (target < 5)
  int runs = 0;
};

struct BenchRow {
  ModelReport model;
  DeviceReport device;
  std::string build_version;
  std::string build_commit;

  std::string test;  // "pp512", "tg128"
  int64_t n_prompt = 0;
  int64_t n_gen = 0;
  int64_t depth = 0;  // KV positions filled before the test
  int reps = 0;
  std::vector<double> samples_ts;  // tokens/s of each repetition
  double ts_mean = 0.0;
  double ts_stddev = 0.0;  // sample standard deviation (n - 1), 0 for one repetition

  // Roofline. tg rows: bytes read per generated token (weights + the KV positions attended,
  // averaged over the test) times tokens/s, and that as a share of the probe. pp rows: FLOP/s.
  std::optional<double> bytes_per_token;
  std::optional<double> effective_bytes_per_second;
  std::optional<double> probe_percent;
  std::optional<double> flops_per_token;  // pp: matmul 2 x params plus attention, averaged
  std::optional<double> flops_per_second;

  std::optional<OpProfile> ops;           // with --ops
  std::optional<DecodeStepCosts> decode;  // tg rows

  // "tg128 @ d4096" as llama-bench names it; just the test at depth 0.
  std::string label() const { return depth > 0 ? test + " @ d" + std::to_string(depth) : test; }
};

}  // namespace vkgraph::bench
