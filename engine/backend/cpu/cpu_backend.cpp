#include "engine/backend/cpu/cpu_backend.h"

#include <cstring>
#include <thread>

#include "engine/backend/cpu/cpu_device.h"
#include "engine/backend/cpu/cpu_ops.h"
#include "engine/core/error.h"

namespace vkgraph::cpu {
namespace {

// The pattern guard bytes hold: position-dependent so a shifted copy of it is still caught.
std::byte canary(size_t i) { return std::byte(uint8_t(0xA5u ^ (i * 31u))); }

CpuStorage& cpu_storage(const Storage& storage, const std::string& what) {
  VKGRAPH_CHECK(std::string(storage.backend_name()) == "cpu", "cpu backend: {} is storage of backend {}", what,
                storage.backend_name());
  return const_cast<CpuStorage&>(static_cast<const CpuStorage&>(storage));
}

}  // namespace

CpuStorage::CpuStorage(size_t bytes) : bytes_(bytes), data_(bytes > 0 ? bytes : 1, std::byte{0}) {}

std::string CpuBackend::device_name() const {
  return fmt::format("host CPU ({} threads)", std::max(1u, std::thread::hardware_concurrency()));
}

DeviceRecord CpuBackend::device_record() const { return cpu_device_record(); }

bool CpuBackend::supports(OpKind op, DType type) const {
  (void)op;
  (void)type;
  return true;
}

std::optional<CopyBandwidth> CpuBackend::measure_copy_bandwidth() {
  return CopyBandwidth{cpu_copy_bandwidth(), "threaded memcpy, wall time"};
}

std::shared_ptr<Storage> CpuBackend::upload(std::span<const std::byte> data) {
  auto storage = std::make_shared<CpuStorage>(data.size());
  if (!data.empty()) std::memcpy(storage->data(), data.data(), data.size());
  storage_bytes_ += data.size();
  return storage;
}

std::shared_ptr<Storage> CpuBackend::allocate_state(size_t bytes) {
  storage_bytes_ += bytes;
  return std::make_shared<CpuStorage>(bytes);
}

void CpuBackend::read_storage(const Storage& storage, size_t offset, std::span<std::byte> out) {
  const CpuStorage& s = cpu_storage(storage, "read_storage");
  VKGRAPH_CHECK(offset <= s.bytes() && out.size() <= s.bytes() - offset,
                "read_storage: bytes [{}, {}) are outside the storage of {} bytes", offset, offset + out.size(),
                s.bytes());
  if (!out.empty()) std::memcpy(out.data(), s.data() + offset, out.size());
}

void CpuBackend::write_storage(Storage& storage, size_t offset, std::span<const std::byte> data) {
  CpuStorage& s = cpu_storage(storage, "write_storage");
  VKGRAPH_CHECK(offset <= s.bytes() && data.size() <= s.bytes() - offset,
                "write_storage: bytes [{}, {}) are outside the storage of {} bytes", offset, offset + data.size(),
                s.bytes());
  if (!data.empty()) std::memcpy(s.data() + offset, data.data(), data.size());
}

std::unique_ptr<Executable> CpuBackend::prepare(const Plan& plan, const PrepareOptions& options) {
  return std::make_unique<CpuExecutable>(plan, options);
}

CpuExecutable::CpuExecutable(const Plan& plan, const PrepareOptions& options)
    : plan_(plan), guard_bytes_(options.guard_bytes) {
  const Graph& g = plan_.graph();
  for (const Node& n : g.nodes()) {
    if (n.op == OpKind::leaf && n.kind != TensorKind::input && n.storage) cpu_storage(*n.storage, "'" + n.name + "'");
  }
  arena_.assign(plan_.arena_bytes(), std::byte{0});
  buffers_.resize(g.size());
  auto own = [&](TensorId id, size_t guard) {
    Buffer& b = buffers_[size_t(id.index)];
    b.payload = plan_.location(id).bytes;
    b.bytes.assign(b.payload + 2 * guard, std::byte{0});
    for (size_t i = 0; i < guard; ++i) {
      b.bytes[i] = canary(i);
      b.bytes[guard + b.payload + i] = canary(i);
    }
  };
  for (TensorId id : plan_.inputs()) own(id, 0);
  for (TensorId id : plan_.outputs()) own(id, guard_bytes_);
}

std::byte* CpuExecutable::tensor_data(TensorId id) {
  const Location& loc = plan_.location(id);
  switch (loc.placement) {
    case Placement::arena:
      return arena_.data() + loc.offset;
    case Placement::input:
      return buffers_[size_t(loc.base.index)].bytes.data() + loc.offset;
    case Placement::output:
      return buffers_[size_t(loc.base.index)].bytes.data() + guard_bytes_ + loc.offset;
    case Placement::storage: {
      const Node& base = plan_.graph().node(loc.base);
      return cpu_storage(*base.storage, "'" + base.name + "'").data() + loc.offset;
    }
  }
  fail("cpu backend: tensor '{}' has no placement", plan_.graph().node(id).name);
}

void CpuExecutable::set_input(TensorId id, std::span<const std::byte> data) {
  const Node& n = plan_.graph().node(id);
  VKGRAPH_CHECK(n.op == OpKind::leaf && n.kind == TensorKind::input && plan_.has_location(id),
                "set_input: '{}' is not an input of this plan", n.name);
  Buffer& b = buffers_[size_t(id.index)];
  VKGRAPH_CHECK(data.size() == b.payload, "set_input: '{}' {} {} takes {} bytes, not {}", n.name, shape_string(n.shape),
                dtype_name(n.dtype), b.payload, data.size());
  if (!data.empty()) std::memcpy(b.bytes.data(), data.data(), data.size());
}

void CpuExecutable::run() {
  const Graph& g = plan_.graph();
  for (const Step& step : plan_.steps()) {
    const Node& n = g.node(step.node);
    OpArgs args{n, {}, {}, tensor_data(step.node)};
    for (TensorId in : n.inputs) {
      args.in.push_back(&g.node(in));
      args.src.push_back(tensor_data(in));
    }
    run_op(args);
  }
}

void CpuExecutable::read_output(TensorId id, std::span<std::byte> out) {
  const Node& n = plan_.graph().node(id);
  VKGRAPH_CHECK(n.output && plan_.has_location(id), "read_output: '{}' is not an output of this plan", n.name);
  Buffer& b = buffers_[size_t(id.index)];
  VKGRAPH_CHECK(out.size() == b.payload, "read_output: '{}' {} {} has {} bytes, not {}", n.name, shape_string(n.shape),
                dtype_name(n.dtype), b.payload, out.size());
  for (size_t i = 0; i < guard_bytes_; ++i) {
    VKGRAPH_CHECK(b.bytes[i] == canary(i), "read_output: the guard before output '{}' was overwritten at byte -{}",
                  n.name, guard_bytes_ - i);
    VKGRAPH_CHECK(b.bytes[guard_bytes_ + b.payload + i] == canary(i),
                  "read_output: the guard after output '{}' was overwritten at byte +{} past its {} bytes", n.name, i,
                  b.payload);
  }
  if (!out.empty()) std::memcpy(out.data(), b.bytes.data() + guard_bytes_, out.size());
}

size_t CpuExecutable::device_bytes() const {
  size_t total = arena_.size();
  for (const Buffer& b : buffers_) total += b.bytes.size();
  return total;
}

}  // namespace vkgraph::cpu
