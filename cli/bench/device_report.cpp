#include "cli/bench/device_report.h"

#include <set>
#include <vector>

#include "engine/graph/plan.h"
#include "models/arch/step_graph.h"

namespace vkgraph::bench {
namespace {

constexpr const char* kNotApplicable = "n/a";

// "coopmat", "portable" or "coopmat+portable" from the set of paths seen.
std::string path_name(const std::set<std::string>& paths, const std::string& none) {
  if (paths.empty()) return none;
  std::string s;
  for (const std::string& p : paths) s += (s.empty() ? "" : "+") + p;
  return s;
}

std::string or_not_applicable(const std::string& s) { return s.empty() ? kNotApplicable : s; }

}  // namespace

DeviceReport describe_device(Backend& backend, const std::string& selector) {
  const DeviceRecord device = backend.device_record();
  DeviceReport r;
  r.backend = backend.name();
  r.selector = selector;
  r.name = device.name.empty() ? backend.device_name() : device.name;
  r.vendor = device.property("vendor").empty() ? "unknown" : device.property("vendor");
  r.driver = or_not_applicable(device.property("driver"));
  r.driver_version = or_not_applicable(device.property("driver_version"));
  r.driver_info = device.property("driver_info");
  r.api_version = or_not_applicable(device.property("api_version"));
  r.matmul_path = r.attention_path = r.backend;
  return r;
}

void describe_kernel_paths(Backend& backend, const models::Model& model, DeviceReport& report) {
  // A two-slot cache is enough to build the graphs: selection depends on types and forms only.
  const models::KvStorage kv = models::allocate_kv(model.hparams(), backend, 2);
  std::set<std::string> matmul, attention;
  bool chooses = false;
  for (int64_t n_tokens : {1, 2}) {  // the decode (mat-vec) and prompt (tiled) forms
    models::StepShape shape;
    shape.n_tokens = n_tokens;
    const Plan plan = Plan::build(models::build_step_graph(model.hparams(), model.weights(), kv, shape).graph,
                                  backend.plan_options());
    for (const Step& step : plan.steps()) {
      const Node& node = plan.graph().node(step.node);
      if (node.op != OpKind::matmul && node.op != OpKind::attention) continue;
      const std::optional<KernelChoice> choice = backend.kernel_choice(plan.graph(), node);
      if (!choice) continue;  // a backend with one kernel per op: the path is the backend
      chooses = true;
      (node.op == OpKind::matmul ? matmul : attention).insert(choice->path);
    }
  }
  if (!chooses) return;
  report.matmul_path = path_name(matmul, "none");
  report.attention_path = path_name(attention, "none");
}

void probe_bandwidth(Backend& backend, DeviceReport& report) {
  if (const std::optional<CopyBandwidth> bw = backend.measure_copy_bandwidth()) {
    report.probe_bytes_per_second = bw->bytes_per_second;
    report.probe_method = bw->method;
  }
}

}  // namespace vkgraph::bench
