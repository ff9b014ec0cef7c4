#include "engine/backend/cuda/executable_cuda.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "engine/backend/cuda/backend_cuda.h"
#include "engine/backend/cuda/cuda_check.h"
#include "engine/backend/cuda/step_launch.h"
#include "engine/core/error.h"

namespace vkgraph::cuda {
namespace {

// The byte written around outputs when guard bands are asked for (PrepareOptions::guard_bytes),
// the same as the Vulkan backend's.
constexpr unsigned char kCanary = 0xA5;

std::vector<const Node*> input_nodes(const Graph& g, const Node& n) {
  std::vector<const Node*> in;
  for (TensorId id : n.inputs) in.push_back(&g.node(id));
  return in;
}

}  // namespace

CudaExecutable::CudaExecutable(int device, const Plan& plan, const PrepareOptions& options)
    : device_(device), plan_(plan), options_(options) {
  const Graph& g = plan_.graph();
  for (const Node& n : g.nodes()) {
    if (n.op == OpKind::leaf && n.kind != TensorKind::input && n.storage) cuda_storage(*n.storage, "'" + n.name + "'");
  }
  size_t scratch = 0;
  for (const Step& step : plan_.steps()) {
    const Node& n = g.node(step.node);
    const std::vector<const Node*> in = input_nodes(g, n);
    check_step(n, in);
    scratch = std::max(scratch, step_scratch_bytes(n, in));
    kernels_.push_back(step_kernel(n, in));
  }
  arena_ = DeviceBuffer(device_, plan_.arena_bytes(), "the arena");
  scratch_ = DeviceBuffer(device_, scratch, "rotated keys");
  error_ = DeviceBuffer(device_, sizeof(int), "the error flag");
  for (TensorId id : plan_.inputs()) {
    OwnBuffer own;
    own.bytes = plan_.location(id).bytes;
    own.buffer = DeviceBuffer(device_, own.bytes, "input '" + g.node(id).name + "'");
    // A run before set_input reads zeros, not garbage.
    check(cudaMemset(own.buffer.data(), 0, std::max<size_t>(own.bytes, 1)), "zeroing an input");
    inputs_.emplace(id.index, std::move(own));
  }
  for (TensorId id : plan_.outputs()) {
    OwnBuffer own;
    own.bytes = plan_.location(id).bytes;
    own.guard = options_.guard_bytes;
    own.buffer = DeviceBuffer(device_, own.bytes + 2 * own.guard, "output '" + g.node(id).name + "'");
    if (own.guard > 0) {
      check(cudaMemset(own.buffer.data(), kCanary, own.guard), "filling a guard band");
      check(cudaMemset(own.buffer.data() + own.guard + own.bytes, kCanary, own.guard), "filling a guard band");
    }
    outputs_.emplace(id.index, std::move(own));
  }
  if (options_.profile) {
    events_.resize(plan_.steps().size() + 1, nullptr);
    for (CUevent_st*& e : events_) check(cudaEventCreate(&e), "cudaEventCreate");
  }
}

CudaExecutable::~CudaExecutable() {
  if (cudaSetDevice(device_) != cudaSuccess) return;
  for (CUevent_st* e : events_) {
    if (e != nullptr) cudaEventDestroy(e);
  }
}

const CudaExecutable::OwnBuffer& CudaExecutable::own_buffer(const std::map<int32_t, OwnBuffer>& buffers, TensorId id,
                                                            const char* what) const {
  auto it = buffers.find(id.index);
  if (it == buffers.end()) {
    const std::string name =
        id.index >= 0 && size_t(id.index) < plan_.graph().size() ? plan_.graph().node(id).name : std::string("?");
    fail("tensor #{} '{}' is not an {} of this plan", id.index, name, what);
  }
  return it->second;
}

std::byte* CudaExecutable::address(TensorId id) const {
  const Location& loc = plan_.location(id);
  switch (loc.placement) {
    case Placement::arena:
      return arena_.data() + loc.offset;
    case Placement::input:
      return own_buffer(inputs_, loc.base, "input").buffer.data() + loc.offset;
    case Placement::output: {
      const OwnBuffer& own = own_buffer(outputs_, loc.base, "output");
      return own.buffer.data() + own.guard + loc.offset;
    }
    case Placement::storage: {
      const Node& base = plan_.graph().node(loc.base);
      VKGRAPH_CHECK(base.storage != nullptr, "tensor '{}': its base '{}' has no storage", plan_.graph().node(id).name,
                    base.name);
      return cuda_storage(*base.storage, base.name).data() + loc.offset;
    }
  }
  fail("cuda backend: tensor '{}' has no placement", plan_.graph().node(id).name);
}

void CudaExecutable::set_input(TensorId id, std::span<const std::byte> data) {
  const OwnBuffer& own = own_buffer(inputs_, id, "input");
  VKGRAPH_CHECK(data.size() == own.bytes, "set_input '{}': {} bytes given, the tensor has {}",
                plan_.graph().node(id).name, data.size(), own.bytes);
  use_device(device_);
  if (!data.empty()) {
    check(cudaMemcpy(own.buffer.data(), data.data(), data.size(), cudaMemcpyHostToDevice), "set_input");
  }
}

void CudaExecutable::run() {
  use_device(device_);
  const Graph& g = plan_.graph();
  auto* error = reinterpret_cast<int*>(error_.data());
  check(cudaMemsetAsync(error, 0, sizeof(int), nullptr), "clearing the error flag");
  const std::vector<Step>& steps = plan_.steps();
  if (options_.profile) check(cudaEventRecord(events_[0], nullptr), "cudaEventRecord");
  for (size_t i = 0; i < steps.size(); ++i) {
    const Node& n = g.node(steps[i].node);
    StepLaunch s{n, input_nodes(g, n), {}, address(steps[i].node), scratch_.data(), {}};
    for (TensorId in : n.inputs) s.src.push_back(address(in));
    s.launch = Launch{nullptr, error, int(i) + 1};
    launch_step(s);
    check(cudaGetLastError(), fmt::format("launching {} for {} '{}'", kernels_[i], op_name(n.op), n.name));
    if (options_.profile) check(cudaEventRecord(events_[i + 1], nullptr), "cudaEventRecord");
  }
  check(cudaStreamSynchronize(nullptr), "running the plan");
  int code = 0;
  check(cudaMemcpy(&code, error, sizeof(int), cudaMemcpyDeviceToHost), "reading the error flag");
  if (code != 0) report_bad_index(code);
  if (options_.profile) {
    step_ms_.assign(steps.size(), 0.0);
    for (size_t i = 0; i < steps.size(); ++i) {
      float ms = 0.0f;
      check(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]), "cudaEventElapsedTime");
      step_ms_[i] = ms;
    }
  }
}

void CudaExecutable::report_bad_index(int code) const {
  const Graph& g = plan_.graph();
  const Node& n = g.node(plan_.steps().at(size_t(code - 1)).node);
  if (n.op == OpKind::get_rows) {
    const Node& table = g.node(n.inputs[0]);
    fail("get_rows '{}': an id in '{}' is outside table '{}' of {} rows", n.name, g.node(n.inputs[1]).name, table.name,
         table.shape[0]);
  }
  if (n.op == OpKind::paged_attention) {
    const Node& table = g.node(n.inputs[3]);
    fail("paged_attention '{}': a row in '{}' or an entry of '{}' {} is outside the table or the pool of {} blocks",
         n.name, g.node(n.inputs[4]).name, table.name, shape_string(table.shape),
         g.node(n.inputs[1]).shape[0] / n.params.attention.block_size);
  }
  fail("kv_write '{}': a slot in '{}' is outside the {} slots", n.name, g.node(n.inputs[2]).name, n.shape[0]);
}

void CudaExecutable::read_output(TensorId id, std::span<std::byte> out) {
  const OwnBuffer& own = own_buffer(outputs_, id, "output");
  const std::string& name = plan_.graph().node(id).name;
  VKGRAPH_CHECK(out.size() == own.bytes, "read_output '{}': {} bytes asked, the tensor has {}", name, out.size(),
                own.bytes);
  use_device(device_);
  std::vector<std::byte> all(own.bytes + 2 * own.guard);
  if (!all.empty()) check(cudaMemcpy(all.data(), own.buffer.data(), all.size(), cudaMemcpyDeviceToHost), "read_output");
  for (size_t i = 0; i < all.size(); ++i) {
    if (i >= own.guard && i < own.guard + own.bytes) continue;
    if (all[i] != std::byte{kCanary}) {
      const bool before = i < own.guard;
      fail("output '{}': a kernel wrote {} bytes {} its end (guard byte {} overwritten)", name,
           before ? own.guard - i : i - own.guard - own.bytes + 1, before ? "before its start, at" : "past",
           before ? i : i - own.guard - own.bytes);
    }
  }
  if (!out.empty()) std::memcpy(out.data(), all.data() + own.guard, own.bytes);
}

std::vector<DispatchTiming> CudaExecutable::timings() const {
  std::vector<DispatchTiming> result;
  for (size_t i = 0; i < step_ms_.size(); ++i) result.push_back({plan_.steps()[i].node, kernels_[i], step_ms_[i]});
  return result;
}

size_t CudaExecutable::device_bytes() const {
  size_t total = arena_.bytes() + scratch_.bytes() + error_.bytes();
  for (const auto& [index, own] : inputs_) total += own.buffer.bytes();
  for (const auto& [index, own] : outputs_) total += own.buffer.bytes();
  return total;
}

std::string CudaExecutable::describe(bool reasons) const {
  (void)reasons;  // one kernel per op: no selection table, nothing to explain
  std::string out;
  const Graph& g = plan_.graph();
  for (size_t i = 0; i < kernels_.size(); ++i) {
    const Node& n = g.node(plan_.steps()[i].node);
    out += fmt::format("{:4} {} {} -> cuda {}\n", i, op_name(n.op), n.name, kernels_[i]);
  }
  return out;
}

}  // namespace vkgraph::cuda
