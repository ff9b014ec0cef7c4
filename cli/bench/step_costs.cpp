#include "cli/bench/step_costs.h"

#include <chrono>
#include <numeric>
#include <span>
#include <vector>

#include "cli/bench/roofline.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "models/arch/step_graph.h"

namespace vkgraph::bench {
namespace {

using Clock = std::chrono::steady_clock;

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return std::as_bytes(std::span<const T>(v));
}

}  // namespace

DecodeStepCosts measure_decode_step(const models::Model& model, Backend& backend, int64_t depth, int runs,
                                    std::span<const models::AdapterUse> adapters) {
  VKGRAPH_CHECK(runs > 0 && depth >= 0, "decode step costs: {} runs at depth {} (expected runs > 0, depth >= 0)", runs,
                depth);
  const models::Hparams& hp = model.hparams();
  const int64_t n_slots = depth + 1;
  const models::KvStorage kv = models::allocate_kv(hp, backend, n_slots);
  models::StepShape shape;
  shape.n_tokens = 1;
  models::StepGraph step = models::build_step_graph(hp, model.weights(), kv, shape, adapters);
  const Plan plan = Plan::build(step.graph, backend.plan_options());
  const std::unique_ptr<Executable> exe = backend.prepare(plan);

  DecodeStepCosts costs;
  const TokenCost cost = token_cost(model, kv.dtype);
  costs.bytes_needed = cost.weight_bytes + cost.kv_bytes_per_position * double(n_slots);
  if (const uint64_t read = exe->bytes_read_estimate(); read > 0) {
    costs.bytes_read = double(read);
    costs.bytes_ratio = double(read) / costs.bytes_needed;
  }

  // One step as Session::eval runs it: the input vectors built and uploaded, the replay, the
  // logits read back. The token sits at position `depth` in the last slot.
  std::vector<float> logits(size_t(hp.n_vocab));
  const auto step_once = [&](double* host_ms) {
    const auto start = Clock::now();
    const std::vector<int32_t> tokens{int32_t(hp.n_vocab / 2)};
    const std::vector<int32_t> positions{int32_t(depth)};
    std::vector<int32_t> kv_pos(static_cast<size_t>(n_slots));
    std::iota(kv_pos.begin(), kv_pos.end(), 0);
    exe->set_input(step.tokens, bytes_of(tokens));
    exe->set_input(step.positions, bytes_of(positions));
    exe->set_input(step.slots, bytes_of(positions));
    exe->set_input(step.kv_pos, bytes_of(kv_pos));
    const auto run_start = Clock::now();
    exe->run();
    const auto read_start = Clock::now();
    exe->read_output(step.logits, std::as_writable_bytes(std::span<float>(logits)));
    const auto end = Clock::now();
    const std::optional<RunHostTime> run = exe->last_run_host_time();
    if (host_ms != nullptr && run) {
      *host_ms = ms_between(start, run_start) + run->submit_ms + ms_between(read_start, end);
    }
    return ms_between(start, end);
  };
  step_once(nullptr);  // warm-up: first-use costs are not the replay's
  costs.runs = runs;
  for (int i = 0; i < runs; ++i) {
    double host = -1.0;
    const double total = step_once(&host);
    if (i == 0 || total < costs.step_ms) {
      costs.step_ms = total;
      if (host >= 0.0) {
        costs.host_ms = host;
        costs.host_percent = total > 0.0 ? 100.0 * host / total : 0.0;
      }
    }
  }
  return costs;
}

}  // namespace vkgraph::bench
