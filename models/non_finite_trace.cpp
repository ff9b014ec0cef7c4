#include "models/non_finite_trace.h"

#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "engine/graph/plan.h"
#include "models/weight_check.h"

namespace vkgraph::models {
namespace {

// Results kept per run of the step: one window of ops whose results fit this many bytes, so a
// large model's long prompt is traced in several runs instead of all at once.
constexpr size_t kTraceBudgetBytes = size_t(64) << 20;

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

std::string tensor_text(const Node& n) {
  return fmt::format("'{}' {} {}", n.name, shape_string(n.shape), dtype_name(n.dtype));
}

// Ops whose result the trace reads: everything that computes (views share their input's data,
// kv_write's result is the cache, which attention's input description covers).
bool traced(const Node& n) { return n.op != OpKind::leaf && n.op != OpKind::view && n.op != OpKind::kv_write; }

// The leaf (weight or cache) behind a tensor, through views and cache writes.
const Node& source_of(const Graph& g, TensorId id) {
  const Node* n = &g.node(id);
  while ((n->op == OpKind::view || n->op == OpKind::kv_write) && !n->inputs.empty()) n = &g.node(n->inputs[0]);
  return *n;
}

std::string describe_input(const Graph& g, TensorId id, Backend& backend) {
  const Node& src = source_of(g, id);
  if (src.op != OpKind::leaf || !src.storage) return tensor_text(g.node(id));
  const char* kind = src.kind == TensorKind::weight ? "weight" : "cache";
  std::vector<std::byte> data(src.storage->bytes());
  backend.read_storage(*src.storage, 0, data);
  const auto found = scan_values(src.dtype, data, size_t(element_count(src.shape)));
  return fmt::format("{} {} {}", kind, tensor_text(src), found ? describe(*found) : std::string("finite"));
}

}  // namespace

std::string trace_first_non_finite(const StepGraph& step, Backend& backend, const StepInputs& inputs) {
  PlanOptions unfused;
  unfused.fuse = false;  // the ops as the model built them, each result its own
  const Plan order = Plan::build(step.graph, unfused);
  std::vector<TensorId> ops;
  for (const Step& s : order.steps()) {
    if (traced(order.graph().node(s.node))) ops.push_back(s.node);
  }
  for (size_t begin = 0; begin < ops.size();) {
    Graph g = step.graph;
    size_t end = begin, bytes = 0;
    while (end < ops.size() && (end == begin || bytes + order.location(ops[end]).bytes <= kTraceBudgetBytes)) {
      bytes += order.location(ops[end]).bytes;
      g.mark_output(ops[end++]);
    }
    const Plan plan = Plan::build(std::move(g), unfused);
    const std::unique_ptr<Executable> exe = backend.prepare(plan);
    exe->set_input(step.tokens, bytes_of(inputs.tokens));
    exe->set_input(step.positions, bytes_of(inputs.positions));
    exe->set_input(step.slots, bytes_of(inputs.slots));
    exe->set_input(step.kv_pos, bytes_of(inputs.kv_pos));
    exe->run();
    for (size_t i = begin; i < end; ++i) {
      const Node& node = plan.graph().node(ops[i]);
      if (node.dtype != DType::F32 && node.dtype != DType::F16) continue;  // argmax: indices
      std::vector<std::byte> data(plan.location(ops[i]).bytes);
      exe->read_output(ops[i], data);
      const auto found = scan_values(node.dtype, data, size_t(element_count(node.shape)));
      if (!found) continue;
      std::string text = fmt::format(
          "op {} {} is the first to produce a non-finite value ({} at element {}); its inputs:", op_name(node.op),
          tensor_text(node), found->first_value, found->first);
      for (size_t k = 0; k < node.inputs.size(); ++k) {
        text += (k == 0 ? " " : ", ") + describe_input(plan.graph(), node.inputs[k], backend);
      }
      return text;
    }
    begin = end;
  }
  return "no op produced a non-finite value when the step ran again (a fault that does not repeat?)";
}

}  // namespace vkgraph::models
