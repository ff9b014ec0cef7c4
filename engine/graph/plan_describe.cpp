// Plan::describe: the listing `vkgraph plan` prints.

#include <fmt/format.h>

#include "engine/graph/plan.h"

namespace vkgraph {
namespace {

std::string human_bytes(size_t bytes) {
  if (bytes >= size_t(1) << 20) return fmt::format("{:.2f} MiB", double(bytes) / double(1 << 20));
  if (bytes >= size_t(1) << 10) return fmt::format("{:.1f} KiB", double(bytes) / double(1 << 10));
  return fmt::format("{} B", bytes);
}

std::string where(const Plan& plan, TensorId id) {
  const Location& loc = plan.location(id);
  const Node& base = plan.graph().node(loc.base);
  switch (loc.placement) {
    case Placement::arena:
      return fmt::format("arena@{}", loc.offset);
    case Placement::input:
      return fmt::format("input:{}@{}", base.name, loc.offset);
    case Placement::output:
      return fmt::format("output:{}@{}", base.name, loc.offset);
    case Placement::storage:
      return fmt::format("storage:{}@{}", base.name, loc.offset);
  }
  return "?";
}

std::string tensor(const Plan& plan, TensorId id) {
  const Node& n = plan.graph().node(id);
  return fmt::format("{} {} {}", n.name, shape_string(n.shape), dtype_name(n.dtype));
}

}  // namespace

std::string Plan::describe() const {
  std::string out;
  size_t total_read = 0, total_written = 0;
  for (size_t i = 0; i < steps_.size(); ++i) {
    const Step& step = steps_[i];
    const Node& n = graph_.node(step.node);
    const StepTraffic t = traffic(step);
    total_read += t.bytes_read;
    total_written += t.bytes_written;
    if (step.barrier_before) out += "      ---- barrier ----\n";
    out += fmt::format("{:5} {:<13} {} -> {}  read {} write {}\n", i, op_name(n.op), tensor(*this, step.node),
                       where(*this, step.node), human_bytes(t.bytes_read), human_bytes(t.bytes_written));
    for (TensorId in : n.inputs) {
      out += fmt::format("{:20}<- {} at {}\n", "", tensor(*this, in), where(*this, in));
    }
  }
  out += fmt::format("steps: {}, barriers: {}, read {}, written {}\n", steps_.size(), barrier_count(),
                     human_bytes(total_read), human_bytes(total_written));
  out += fmt::format("arena: peak {} ({} bytes), intermediates unshared {} ({} bytes): {:.1f}% of the sum\n",
                     human_bytes(arena_bytes_), arena_bytes_, human_bytes(naive_bytes_), naive_bytes_,
                     naive_bytes_ > 0 ? 100.0 * double(arena_bytes_) / double(naive_bytes_) : 0.0);
  return out;
}

}  // namespace vkgraph
