// Runs op cases on two backends and compares their outputs (see op_cases.h).

#include <chrono>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/core/fp16.h"
#include "engine/graph/plan.h"
#include "engine/testing/op_cases.h"

namespace vkgraph::testing {
namespace {

// Host-side guard around every buffer handed to read_output: catches a backend that copies
// more than the span it was given.
constexpr size_t host_guard_bytes = 64;
constexpr std::byte host_canary{0x5A};

struct Outputs {
  std::vector<std::vector<std::byte>> bytes;  // per output, in CaseGraph::outputs order
  std::vector<DType> dtypes;
};

// Runs `exe` `runs` more times: the mean time of run() and of each dispatch.
CaseTiming time_runs(Executable& exe, int runs) {
  CaseTiming t;
  t.runs = runs;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    exe.run();
    t.wall_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    const std::vector<DispatchTiming> dispatches = exe.timings();
    if (t.dispatches.empty()) {
      t.dispatches = dispatches;
    } else {
      for (size_t d = 0; d < dispatches.size() && d < t.dispatches.size(); ++d)
        t.dispatches[d].gpu_ms += dispatches[d].gpu_ms;
    }
  }
  if (runs > 0) {
    t.wall_ms /= runs;
    for (DispatchTiming& d : t.dispatches) d.gpu_ms /= runs;
  }
  return t;
}

Outputs run_on(const OpCase& c, Backend& backend, const PrepareOptions& options, const RunCaseOptions* under_test,
               CaseTiming* timing) {
  CaseGraph cg = c.build(backend);
  const Plan plan = Plan::build(std::move(cg.graph), backend.plan_options());
  std::unique_ptr<Executable> exe = backend.prepare(plan, options);
  for (const auto& [id, data] : cg.inputs) exe->set_input(id, data);
  exe->run();
  if (under_test != nullptr && under_test->inspect) under_test->inspect(*exe);
  Outputs out;
  for (TensorId id : cg.outputs) {
    const Location& loc = plan.location(id);
    std::vector<std::byte> guarded(loc.bytes + 2 * host_guard_bytes, host_canary);
    exe->read_output(id, std::span<std::byte>(guarded.data() + host_guard_bytes, loc.bytes));
    for (size_t i = 0; i < host_guard_bytes; ++i) {
      VKGRAPH_CHECK(guarded[i] == host_canary && guarded[host_guard_bytes + loc.bytes + i] == host_canary,
                    "{}: read_output of '{}' wrote outside its {} bytes", backend.name(), plan.graph().node(id).name,
                    loc.bytes);
    }
    out.bytes.emplace_back(guarded.begin() + host_guard_bytes, guarded.end() - host_guard_bytes);
    out.dtypes.push_back(plan.graph().node(id).dtype);
  }
  if (under_test != nullptr && under_test->timed_runs > 0) *timing = time_runs(*exe, under_test->timed_runs);
  return out;
}

std::vector<double> values(DType dtype, const std::vector<std::byte>& bytes) {
  std::vector<double> v;
  switch (dtype) {
    case DType::F32:
      for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
        float f;
        std::memcpy(&f, bytes.data() + i, 4);
        v.push_back(f);
      }
      break;
    case DType::F16:
      for (size_t i = 0; i + 2 <= bytes.size(); i += 2) {
        uint16_t h;
        std::memcpy(&h, bytes.data() + i, 2);
        v.push_back(half_to_float(h));
      }
      break;
    case DType::I32:
      for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
        int32_t x;
        std::memcpy(&x, bytes.data() + i, 4);
        v.push_back(x);
      }
      break;
    default:
      fail("op cases: cannot compare outputs of type {}", dtype_name(dtype));
  }
  return v;
}

}  // namespace

CaseResult run_op_case(const OpCase& c, Backend& under_test, Backend& reference, const RunCaseOptions& options) {
  CaseResult result;
  result.name = c.name;
  result.op = c.op;
  result.max_nmse = c.max_nmse;
  try {
    // The backend under test first: one that cannot run the case (no kernel for a type) fails
    // before the reference spends any time on it.
    PrepareOptions guarded;
    guarded.guard_bytes = options.guard_bytes;
    guarded.profile = options.timed_runs > 0;
    const Outputs got = run_on(c, under_test, guarded, &options, &result.timing);
    const Outputs ref = run_on(c, reference, PrepareOptions{}, nullptr, nullptr);
    double err = 0.0, norm = 0.0;
    bool integer_mismatch = false, non_finite = false;
    for (size_t o = 0; o < ref.bytes.size(); ++o) {
      const std::vector<double> r = values(ref.dtypes[o], ref.bytes[o]);
      const std::vector<double> g = values(got.dtypes[o], got.bytes[o]);
      for (size_t i = 0; i < r.size(); ++i) {
        if (ref.dtypes[o] == DType::I32) {
          integer_mismatch = integer_mismatch || r[i] != g[i];
          continue;
        }
        if (!std::isfinite(g[i]) && std::isfinite(r[i])) non_finite = true;
        err += (g[i] - r[i]) * (g[i] - r[i]);
        norm += r[i] * r[i];
      }
    }
    result.nmse = integer_mismatch || non_finite ? 1.0 : (norm > 0.0 ? err / norm : err);
    result.passed = !integer_mismatch && !non_finite && result.nmse <= c.max_nmse;
    if (integer_mismatch) result.error = "integer outputs differ";
    if (non_finite) result.error = "non-finite values where the reference has finite ones";
  } catch (const std::exception& e) {
    result.passed = false;
    result.error = e.what();
  }
  return result;
}

CaseSummary run_op_cases(Backend& under_test, Backend& reference, const std::string& filter,
                         const CaseReporter& reporter, const RunCaseOptions& options) {
  CaseSummary summary;
  for (const OpCase& c : op_cases()) {
    if (!filter.empty() && c.op != filter && c.name.find(filter) == std::string::npos) continue;
    const CaseResult r = run_op_case(c, under_test, reference, options);
    (r.passed ? summary.passed : summary.failed) += 1;
    if (reporter) reporter(r);
  }
  return summary;
}

std::string format_case_result(const CaseResult& r) {
  std::string line =
      fmt::format("{:<4} {:<90} nmse {:.3e} (max {:.0e})", r.passed ? "ok" : "FAIL", r.name, r.nmse, r.max_nmse);
  if (!r.error.empty()) line += fmt::format(": {}", r.error);
  return line;
}

}  // namespace vkgraph::testing
