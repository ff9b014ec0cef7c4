#include "cli/bench/op_profile.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <vector>

#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "models/arch/step_graph.h"

namespace vkgraph::bench {
namespace {

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

// Bytes a step moves. Plan::traffic counts a whole bound tensor; attention reads only the cached
// positions it can see, so its K and V are counted for `visible` positions instead (for a batch,
// the positions its last token sees).
double step_bytes(const Plan& plan, const Step& step, int64_t visible) {
  const StepTraffic t = plan.traffic(step);
  double bytes = double(t.bytes_read) + double(t.bytes_written);
  const Node& node = plan.graph().node(step.node);
  if (node.op == OpKind::attention) {
    for (size_t i : {size_t(1), size_t(2)}) {  // inputs: q, k, v, q_pos, kv_pos
      const Node& cache = plan.graph().node(node.inputs[i]);
      const size_t position_bytes = row_bytes(cache.dtype, size_t(cache.shape[1] * cache.shape[2]));
      bytes -= double(plan.location(node.inputs[i]).bytes);
      bytes += double(position_bytes) * double(visible);
    }
  }
  return bytes;
}

}  // namespace

OpProfile profile_step(const models::Model& model, Backend& backend, int64_t n_slots, int64_t depth, int64_t n_tokens,
                       int runs, std::span<const models::AdapterUse> adapters) {
  VKGRAPH_CHECK(runs > 0, "--ops needs at least one run (got {})", runs);
  VKGRAPH_CHECK(n_tokens > 0 && depth >= 0 && depth + n_tokens <= n_slots,
                "--ops: {} tokens after depth {} do not fit a cache of {}", n_tokens, depth, n_slots);
  const models::Hparams& hp = model.hparams();
  const models::KvStorage kv = models::allocate_kv(hp, backend, n_slots);
  models::StepShape shape;
  shape.n_tokens = n_tokens;
  models::StepGraph step = models::build_step_graph(hp, model.weights(), kv, shape, adapters);
  const Plan plan = Plan::build(step.graph, backend.plan_options());
  // Two executables of the same plan: the timed one gives the per-op times; the plain one the
  // step time they are compared with (the timestamps themselves cost time between dispatches).
  PrepareOptions options;
  options.profile = true;
  const std::unique_ptr<Executable> timed = backend.prepare(plan, options);
  const std::unique_ptr<Executable> plain = backend.prepare(plan);

  // The new tokens sit at positions depth.. in the slots of the same number; the slots before
  // them are visible, the rest empty.
  const std::vector<int32_t> tokens(static_cast<size_t>(n_tokens), int32_t(hp.n_vocab / 2));
  std::vector<int32_t> positions(static_cast<size_t>(n_tokens));
  std::iota(positions.begin(), positions.end(), int32_t(depth));
  std::vector<int32_t> kv_pos(size_t(n_slots), -1);
  std::iota(kv_pos.begin(), kv_pos.begin() + depth + n_tokens, 0);
  for (Executable* exe : {timed.get(), plain.get()}) {
    exe->set_input(step.tokens, bytes_of(tokens));
    exe->set_input(step.positions, bytes_of(positions));
    exe->set_input(step.slots, bytes_of(positions));
    exe->set_input(step.kv_pos, bytes_of(kv_pos));
  }

  struct Run {
    double wall_ms = 0.0;
    double ops_ms = 0.0;
    std::vector<DispatchTiming> timings;
  };
  const auto run_once = [](Executable& exe) {
    const auto start = std::chrono::steady_clock::now();
    exe.run();
    Run r;
    r.wall_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    r.timings = exe.timings();
    for (const DispatchTiming& t : r.timings) r.ops_ms += t.gpu_ms;
    return r;
  };
  plain->run();  // warm-up
  timed->run();
  // Alternating runs see the same load from other processes, which only ever adds time: the
  // fastest plain run gives the step without timestamps, the fastest timed run the breakdown
  // and the step it adds up to (both from that one run, so no load change comes between them).
  Run plain_best, best;
  for (int i = 0; i < runs; ++i) {
    Run p = run_once(*plain);
    if (i == 0 || p.wall_ms < plain_best.wall_ms) plain_best = std::move(p);
    Run t = run_once(*timed);
    if (i == 0 || t.wall_ms < best.wall_ms) best = std::move(t);
  }

  std::map<int32_t, const Step*> step_of;
  for (const Step& s : plan.steps()) step_of[s.node.index] = &s;
  std::map<std::pair<std::string, std::string>, OpShare> groups;
  OpProfile profile;
  profile.step_ms = best.wall_ms;
  profile.untimed_step_ms = plain_best.wall_ms;
  profile.runs = runs;
  profile.n_tokens = n_tokens;
  for (const DispatchTiming& t : best.timings) {
    const Node& node = plan.graph().node(t.node);
    OpShare& g = groups[{op_name(node.op), t.kernel}];
    g.op = op_name(node.op);
    g.kernel = t.kernel.empty() ? g.op : t.kernel;
    g.dispatches += 1;
    g.ms += t.gpu_ms;
    if (auto it = step_of.find(t.node.index); it != step_of.end())
      g.bytes += step_bytes(plan, *it->second, depth + n_tokens);
    profile.ops_ms += t.gpu_ms;
  }
  for (auto& [key, g] : groups) {
    g.share = profile.step_ms > 0.0 ? g.ms / profile.step_ms : 0.0;
    g.gb_per_s = g.ms > 0.0 ? g.bytes / (g.ms * 1e-3) / 1e9 : 0.0;
    profile.ops.push_back(g);
  }
  std::sort(profile.ops.begin(), profile.ops.end(), [](const OpShare& a, const OpShare& b) { return a.ms > b.ms; });
  return profile;
}

}  // namespace vkgraph::bench
