// `vkgraph plan`: one forward step of a model, built by the models' builder
// (models/arch/step_graph.h) exactly as a session builds it, and its plan: steps, locations,
// barriers, estimated traffic, the arena's peak against the sum of intermediates, and the
// dispatches the backend lowers it to (-v: the kernel table row of each and why).

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "cli/command.h"
#include "cli/model_options.h"
#include "engine/backend/registry.h"
#include "engine/graph/plan.h"
#include "models/arch/kv_storage.h"
#include "models/arch/step_graph.h"

namespace vkgraph::cli {
namespace {

struct PlanArgs {
  ModelOptions model;
  int64_t n_tokens = 1;
  int64_t n_slots = 256;
  int64_t n_layer = 0;  // 0: the model's
  bool ring = false;
  bool no_fuse = false;
  bool verbose = false;
};

int run_plan(const PlanArgs& o) {
  std::unique_ptr<Backend> backend = create_model_backend(o.model);
  const std::unique_ptr<models::Model> model =
      models::Model::load(model_path(o.model), *backend, load_options(o.model));
  models::Hparams hp = model->hparams();
  if (o.n_layer > 0) hp.n_layer = std::min(hp.n_layer, o.n_layer);
  const models::KvStorage kv = models::allocate_kv(hp, *backend, o.n_slots);
  models::StepShape shape;
  shape.n_tokens = o.n_tokens;
  shape.ring = o.ring;
  models::StepGraph step = models::build_step_graph(hp, model->weights(), kv, shape);
  PlanOptions options = backend->plan_options();
  options.fuse = !o.no_fuse;
  const Plan plan = Plan::build(std::move(step.graph), options);
  const std::unique_ptr<Executable> executable = backend->prepare(plan);
  std::fputs(fmt::format("{} step: {} tokens, {} cache slots, {} of {} layers, n_embd {}, n_head {}/{} kv, "
                         "head_dim {}, n_ff {}, n_vocab {}, weights {}, cache {}\n",
                         hp.name.empty() ? hp.arch : hp.name, o.n_tokens, o.n_slots, hp.n_layer,
                         model->hparams().n_layer, hp.n_embd, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_ff, hp.n_vocab,
                         model->weight_type(), dtype_name(kv.dtype))
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
    "plan", "print the lowered plan of one step of a model (steps, locations, barriers, dispatches, arena peak)",
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<PlanArgs>();
      app.add_option("-m,--model", o->model.model, "GGUF model file (default: the bundled stories260K)");
      app.add_option("--weights", o->model.weights, "convert f32/f16 weights while loading: q8_0 or q4_0");
      app.add_option("--backend", o->model.backend,
                     "backend that lowers the plan: vulkan, cpu or cuda (default: " + default_backend_name() + ")");
      app.add_option("--device", o->model.device, "device index or name substring");
      app.add_option("--tokens", o->n_tokens, "tokens in the step (1 = decode)")->check(CLI::PositiveNumber);
      app.add_option("--kv", o->n_slots, "KV cache slots")->check(CLI::PositiveNumber)->capture_default_str();
      app.add_option("--layers", o->n_layer, "plan only the first N layers (0: all)")->check(CLI::NonNegativeNumber);
      app.add_flag("--ring", o->ring, "the KV cache ring's step: keys rotated as attention reads them");
      app.add_flag("--no-fuse", o->no_fuse, "skip the fusion pass");
      app.add_flag("-v,--verbose", o->verbose, "also the kernel table row of each dispatch and why it was chosen");
      return [o] { return run_plan(*o); };
    }};

}  // namespace
}  // namespace vkgraph::cli
