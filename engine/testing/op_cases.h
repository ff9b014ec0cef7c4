#pragma once
// The op test cases: ONE list used for every backend. A case builds a tiny graph with
// deterministic pseudo-random data, runs it on the backend under test and on the CPU reference,
// and compares every output with a normalized mean squared error bound chosen for that case.
//
// NMSE = sum((out - ref)^2) / sum(ref^2), over all elements of all outputs of a case (when the
// reference is all zeros, the plain sum of squared errors is used). Integer outputs (argmax)
// must match exactly: any difference counts as NMSE 1.
//
// Guards: outputs are read into host buffers with canaries on both sides (a read_output that
// writes past its span is caught), and executables are prepared with PrepareOptions::guard_bytes
// so a backend can pad outputs on the device and report damage from read_output.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/graph/graph.h"

namespace vkgraph::testing {

// What a case's build function returns: the graph (weights and state already made on the
// backend it was given), the host data of every input, and the outputs to compare.
struct CaseGraph {
  Graph graph;
  std::vector<std::pair<TensorId, std::vector<std::byte>>> inputs;
  std::vector<TensorId> outputs;  // each marked with Graph::mark_output
};

struct OpCase {
  std::string name;  // unique, e.g. "matmul w=q4_0 x=f32 m=7 n_in=64 n_out=33"
  std::string op;    // the op under test, as op_name() spells it ("matmul"); --op filters on it
  double max_nmse = 0.0;
  // The weight (matmul) or table (get_rows) type the case exercises; F32 for other ops. A
  // backend without kernels for it fails the case naming the type (tests assert that message).
  DType weight = DType::F32;
  // Builds the case on `backend` (uploads weights, allocates state). Deterministic: the same
  // data for every backend and every call.
  std::function<CaseGraph(Backend& backend)> build;
};

// The whole list, in a fixed order.
const std::vector<OpCase>& op_cases();

// Timed runs of a case on the backend under test (RunCaseOptions::timed_runs).
struct CaseTiming {
  int runs = 0;
  double wall_ms = 0.0;                    // mean time of Executable::run()
  std::vector<DispatchTiming> dispatches;  // mean per dispatch, where the backend has timestamps
};

struct CaseResult {
  std::string name;
  std::string op;
  double nmse = 0.0;
  double max_nmse = 0.0;
  bool passed = false;
  std::string error;  // an exception's message or a guard failure; empty when none
  CaseTiming timing;  // empty unless timed runs were asked for
};

struct CaseSummary {
  size_t passed = 0;
  size_t failed = 0;
};

using CaseReporter = std::function<void(const CaseResult&)>;

struct RunCaseOptions {
  size_t guard_bytes = 256;  // PrepareOptions::guard_bytes for the backend under test
  // Called with the backend under test's executable after its first run (e.g. to check which
  // kernels it lowered to); an exception it throws fails the case with its message.
  std::function<void(const Executable&)> inspect;
  // After the checked run: this many more runs, prepared with profiling, timed (CaseResult::timing).
  int timed_runs = 0;
};

// Runs one case on both backends and compares.
CaseResult run_op_case(const OpCase& c, Backend& under_test, Backend& reference, const RunCaseOptions& options = {});

// Runs every case whose op equals `filter` or whose name contains it ("" = all) and calls
// `reporter` after each. Never throws for a failing case: it is counted and reported.
CaseSummary run_op_cases(Backend& under_test, Backend& reference, const std::string& filter,
                         const CaseReporter& reporter, const RunCaseOptions& options = {});

// One line per case: "ok   matmul w=q4_0 ...  nmse 1.2e-09 <= 1e-06" or "FAIL ... (error)".
std::string format_case_result(const CaseResult& result);

}  // namespace vkgraph::testing
