// `vkgraph plan`: builds one llama-shaped step and prints its lowered plan (steps, locations,
// barriers, estimated traffic, arena peak against the sum of intermediates).

#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "engine/backend/registry.h"
#include "engine/graph/plan.h"
#include "engine/testing/llama_step.h"

namespace vkgraph::cli {
namespace {

struct PlanOptionsCli {
  testing::LlamaDims dims;
  bool no_fuse = false;
  bool verbose = false;
  std::string backend = "vulkan";
  std::string device;
};

int run_plan(const PlanOptionsCli& o) {
  // Weights only need to exist for planning: zero-filled storage on the chosen backend, which
  // then lowers the plan to its dispatches.
  std::unique_ptr<Backend> backend = create_backend(o.backend, o.device);
  testing::LlamaStep step = testing::build_llama_step(o.dims, *backend);
  PlanOptions options;
  options.fuse = !o.no_fuse;
  const Plan plan = Plan::build(std::move(step.graph), options);
  const std::unique_ptr<Executable> executable = backend->prepare(plan);
  const testing::LlamaDims& d = o.dims;
  std::fputs(fmt::format("llama step: {} tokens, {} cache slots, {} layers, n_embd {}, n_head {}/{} kv, head_dim {}, "
                         "n_ff {}, n_vocab {}, weights {}, cache {}\n",
                         d.n_tokens, d.n_kv, d.n_layer, d.n_embd, d.n_head, d.n_kv_head, d.head_dim, d.n_ff, d.n_vocab,
                         dtype_name(d.weight_type), dtype_name(d.kv_type))
                 .c_str(),
             stdout);
  std::fputs(plan.describe().c_str(), stdout);
  if (const std::string dispatches = executable->describe(o.verbose); !dispatches.empty()) {
    std::fputs(fmt::format("\ndispatches on {} ({}):\n", backend->name(), backend->device_name()).c_str(), stdout);
    std::fputs(dispatches.c_str(), stdout);
  }
  return 0;
}

const CommandRegistration registration{
    "plan", "print the lowered plan of a llama-shaped step (steps, locations, barriers, arena peak)",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<PlanOptionsCli>();
      app.add_option("--tokens", o->dims.n_tokens, "tokens in the step (1 = decode)")->check(CLI::PositiveNumber);
      app.add_option("--kv", o->dims.n_kv, "KV cache slots")->check(CLI::PositiveNumber);
      app.add_option("--layers", o->dims.n_layer, "transformer layers")->check(CLI::PositiveNumber);
      app.add_flag("--no-fuse", o->no_fuse, "skip the fusion pass");
      app.add_flag("-v,--verbose", o->verbose, "also the kernel table row of each dispatch and why it was chosen");
      app.add_option("--backend", o->backend, "backend that lowers the plan: vulkan or cpu")->capture_default_str();
      app.add_option("--device", o->device, "device index or name substring");
      return [o] { return run_plan(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
