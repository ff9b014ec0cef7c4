#include "engine/testing/kernel_cases.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <memory>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/executable_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"

namespace vkgraph::testing {
namespace {

KernelRowText row_text(const vk::KernelRow& row) {
  KernelRowText t;
  t.name = vk::kernel_row_name(row);
  t.key = vk::kernel_key_string(row.key);
  t.family = vk::kernel_family_name(row.family);
  t.when = vk::row_when_name(row.when);
  t.launch = fmt::format("workgroup {}, tile [{}]", row.workgroup_size, fmt::join(row.tile, ", "));
  t.why = row.why;
  return t;
}

// Whether `row` may run in a step whose key is `step`: the row's own key, except split-K's reduce
// pass, which runs inside a decode attention step (of either cache type), the rope that
// performs kv_writes, which runs in a rope step of its layout, the matmul_add that performs a
// norm, which runs in a matmul_add step of its types, and the matmul_cat that performs a rope,
// which runs in a matmul_cat step of its types.
bool may_run_in(const vk::KernelRow& row, const vk::KernelKey& step) {
  if (row.key.form == vk::KernelForm::vector_norm || row.key.form == vk::KernelForm::vector_rope) {
    vk::KernelKey plain = row.key;
    plain.form = vk::KernelForm::vector;
    return step == plain;
  }
  if (row.family == vk::KernelFamily::attention_reduce) {
    return step.op == OpKind::attention && step.form == vk::KernelForm::attention_decode;
  }
  if (row.family == vk::KernelFamily::rope_kv) {
    const bool neox = row.key.form == vk::KernelForm::rope_neox_kv;
    return step.op == OpKind::rope && step.form == (neox ? vk::KernelForm::rope_neox : vk::KernelForm::rope_normal);
  }
  return row.key == step;
}

// Whether some step of the case, as `runner` plans it (fused), may run the row. The graph is
// built on the CPU backend: only its ops, types and shapes matter here.
// A case with weights of a type that has no Vulkan shaders yet (engine/core/weight_types.def)
// cannot run on Vulkan at all, whichever row is forced: it says nothing about the row, so it is
// left out rather than counted as the row's failure.
bool case_may_run(const OpCase& c, const vk::KernelRow& row, Backend& cpu, const Backend& runner) {
  CaseGraph cg = c.build(cpu);
  const Plan plan = Plan::build(std::move(cg.graph), runner.plan_options());
  bool runs_row = false;
  for (const Step& step : plan.steps()) {
    const vk::KernelKey key = vk::kernel_key(plan.graph(), plan.graph().node(step.node));
    if (is_weight_type(key.a) && dtype_info(key.a).vulkan == vk_none) return false;
    runs_row = runs_row || may_run_in(row, key);
  }
  return runs_row;
}

}  // namespace

std::vector<KernelRowText> kernel_rows() {
  std::vector<KernelRowText> rows;
  for (const vk::KernelRow& row : vk::kernel_table()) rows.push_back(row_text(row));
  return rows;
}

std::vector<KernelRun> run_kernel_cases(const std::string& selector, const KernelRunOptions& options,
                                        const KernelReporter& reporter) {
  const std::vector<const vk::KernelRow*> rows = vk::find_kernel_rows(selector);
  VKGRAPH_CHECK(!rows.empty(),
                "--kernel {}: no row of the kernel table has this name or shader (`vkgraph test-ops --list-kernels` "
                "lists them)",
                selector);
  VKGRAPH_CHECK(has_backend("vulkan"), "--kernel: this build has no Vulkan backend");
  const std::unique_ptr<Backend> backend = vk::create_vulkan_backend(options.device);
  auto& vulkan = dynamic_cast<vk::VulkanBackend&>(*backend);
  const vk::DeviceInfo& device = vulkan.context()->info();
  cpu::CpuBackend cpu;

  std::vector<KernelRun> runs;
  for (const vk::KernelRow* row : rows) {
    KernelRun run;
    run.row = row_text(*row);
    run.device = device.name;
    std::string why_not;
    if (!vk::device_supports(device, row->variant.requirements, &why_not)) {
      run.skipped = why_not;
      if (reporter) reporter(run, nullptr);
      runs.push_back(std::move(run));
      continue;
    }
    const vk::ForcedKernels forced({run.row.name});
    for (const OpCase& c : op_cases()) {
      if (!options.filter.empty() && c.op != options.filter && c.name.find(options.filter) == std::string::npos) {
        continue;
      }
      if (!case_may_run(c, *row, cpu, vulkan)) continue;
      bool ran = false;
      double row_ms = 0.0;
      uint64_t row_bytes = 0;
      RunCaseOptions case_options;
      case_options.timed_runs = options.timed_runs;
      case_options.inspect = [&](const Executable& exe) {
        const auto& lowered = dynamic_cast<const vk::VulkanExecutable&>(exe).dispatches();
        for (const vk::Dispatch& d : lowered) {
          if (d.kernel != row) continue;
          ran = true;
          row_bytes += d.bytes_read;
        }
      };
      KernelCaseResult r{run_op_case(c, vulkan, cpu, case_options), 0.0, 0};
      if (!ran && r.result.error.empty()) continue;  // the case lowered to other rows: not counted
      for (const DispatchTiming& t : r.result.timing.dispatches) {
        if (t.kernel == row->variant.shader) row_ms += t.gpu_ms;
      }
      r.row_ms = row_ms;
      r.row_bytes = row_bytes;
      (r.result.passed ? run.passed : run.failed) += 1;
      run.cases.push_back(std::move(r));
      if (reporter) reporter(run, &run.cases.back());
    }
    if (run.cases.empty()) {
      run.failed = 1;
      run.skipped.clear();
    }
    if (reporter) reporter(run, nullptr);
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace vkgraph::testing
