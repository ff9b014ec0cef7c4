#include "engine/graph/plan.h"

#include "engine/core/error.h"
#include "engine/graph/passes.h"

namespace vkgraph {

const char* placement_name(Placement placement) {
  switch (placement) {
    case Placement::arena:
      return "arena";
    case Placement::input:
      return "input";
    case Placement::output:
      return "output";
    case Placement::storage:
      return "storage";
  }
  return "?";
}

class PlanBuilder {
 public:
  static Plan build(Graph graph, const PlanOptions& options) {
    Plan plan;
    passes::materialize_outputs(graph);
    if (options.fuse) passes::fuse(graph, options.fused_ops);
    const std::vector<bool> live = passes::live_nodes(graph);
    const std::vector<TensorId> order = passes::schedule(graph, live);
    passes::MemoryPlan memory = passes::plan_memory(graph, live, order, options.arena_alignment);
    for (TensorId id : order) plan.steps_.push_back(Step{id, false});
    passes::place_barriers(graph, memory.locations, plan.steps_);
    for (size_t i = 0; i < graph.size(); ++i) {
      const Node& n = graph.nodes()[i];
      if (live[i] && n.op == OpKind::leaf && n.kind == TensorKind::input) plan.inputs_.push_back(TensorId{int32_t(i)});
      if (live[i] && n.output) plan.outputs_.push_back(TensorId{int32_t(i)});
    }
    plan.locations_ = std::move(memory.locations);
    plan.located_ = std::move(memory.located);
    plan.arena_bytes_ = memory.arena_bytes;
    plan.naive_bytes_ = memory.naive_bytes;
    plan.graph_ = std::move(graph);
    return plan;
  }
};

Plan Plan::build(Graph graph, const PlanOptions& options) { return PlanBuilder::build(std::move(graph), options); }

bool Plan::has_location(TensorId id) const {
  return id.index >= 0 && size_t(id.index) < located_.size() && located_[size_t(id.index)];
}

const Location& Plan::location(TensorId id) const {
  VKGRAPH_CHECK(has_location(id), "plan: tensor {} ('{}') is not used by any step of the plan", id.index,
                id.index >= 0 && size_t(id.index) < graph_.size() ? graph_.node(id).name : std::string("?"));
  return locations_[size_t(id.index)];
}

size_t Plan::barrier_count() const {
  size_t n = 0;
  for (const Step& s : steps_) n += s.barrier_before ? 1 : 0;
  return n;
}

std::vector<TensorId> Plan::step_reads(const Step& step) const { return passes::step_reads(graph_, step.node); }

TensorId Plan::step_write(const Step& step) const { return passes::step_write(graph_, step.node); }

StepTraffic Plan::traffic(const Step& step) const {
  const Node& n = graph_.node(step.node);
  StepTraffic t;
  t.bytes_written = location(step.node).bytes;
  for (TensorId r : step_reads(step)) t.bytes_read += location(r).bytes;
  if (n.op == OpKind::get_rows) {
    // Only the looked-up rows of the table are read.
    const Node& table = graph_.node(n.inputs[0]);
    t.bytes_read = location(n.inputs[1]).bytes + size_t(n.shape[0]) * row_bytes(table.dtype, size_t(table.shape[1]));
  } else if (n.op == OpKind::kv_write) {
    // Only the written slots of the cache change.
    const Node& src = graph_.node(n.inputs[1]);
    t.bytes_written = size_t(src.shape[0]) * row_bytes(n.dtype, size_t(src.shape[1] * src.shape[2]));
  }
  return t;
}

}  // namespace vkgraph
