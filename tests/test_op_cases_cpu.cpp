// The op-case harness itself: the whole list passes CPU against CPU, it covers every op and
// dtype combination, and its guards catch out-of-bounds writes.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "engine/backend/cpu/cpu_backend.h"
#include "engine/core/error.h"
#include "engine/graph/plan.h"
#include "engine/testing/op_cases.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// A backend that behaves like the CPU one except for a deliberate fault after every run.
enum class Fault { write_past_output, overflow_read_output };

class FaultyExecutable final : public Executable {
 public:
  FaultyExecutable(std::unique_ptr<cpu::CpuExecutable> inner, const Plan& plan, Fault fault)
      : inner_(std::move(inner)),
        outputs_(plan.outputs()),
        bytes_(plan.location(plan.outputs().at(0)).bytes),
        fault_(fault) {}
  void set_input(TensorId id, std::span<const std::byte> data) override { inner_->set_input(id, data); }
  void run() override {
    inner_->run();
    // One byte past the end of the first output: what a kernel with a wrong bound does.
    if (fault_ == Fault::write_past_output) inner_->tensor_data(outputs_[0])[bytes_] ^= std::byte{0xff};
  }
  void read_output(TensorId id, std::span<std::byte> out) override {
    inner_->read_output(id, out);
    // A copy one byte longer than asked for: what a wrong read-back size does.
    if (fault_ == Fault::overflow_read_output) out.data()[out.size()] = std::byte{0};
  }

 private:
  std::unique_ptr<cpu::CpuExecutable> inner_;
  std::vector<TensorId> outputs_;
  size_t bytes_;
  Fault fault_;
};

class FaultyBackend final : public Backend {
 public:
  explicit FaultyBackend(Fault fault) : fault_(fault) {}
  std::string name() const override { return "faulty"; }
  std::string device_name() const override { return "cpu with a deliberate fault"; }
  std::shared_ptr<Storage> upload(std::span<const std::byte> data) override { return cpu_.upload(data); }
  std::shared_ptr<Storage> allocate_state(size_t bytes) override { return cpu_.allocate_state(bytes); }
  void read_storage(const Storage& s, size_t offset, std::span<std::byte> out) override {
    cpu_.read_storage(s, offset, out);
  }
  void write_storage(Storage& s, size_t offset, std::span<const std::byte> data) override {
    cpu_.write_storage(s, offset, data);
  }
  std::unique_ptr<Executable> prepare(const Plan& plan, const PrepareOptions& options) override {
    return std::make_unique<FaultyExecutable>(std::make_unique<cpu::CpuExecutable>(plan, options), plan, fault_);
  }
  size_t storage_bytes() const override { return cpu_.storage_bytes(); }
  bool supports(OpKind op, DType type) const override { return cpu_.supports(op, type); }

 private:
  cpu::CpuBackend cpu_;
  Fault fault_;
};

const testing::OpCase& find_case(const std::string& prefix) {
  for (const testing::OpCase& c : testing::op_cases()) {
    if (c.name.rfind(prefix, 0) == 0) return c;
  }
  throw Error("no case " + prefix);
}

}  // namespace

TEST_CASE("every op case passes cpu against cpu with an exact match", "[testing]") {
  cpu::CpuBackend a, b;
  size_t reported = 0;
  const testing::CaseSummary summary = testing::run_op_cases(a, b, "", [&](const testing::CaseResult& r) {
    ++reported;
    INFO(testing::format_case_result(r));
    CHECK(r.passed);
    CHECK(r.error.empty());
    CHECK(r.nmse == 0.0);  // the same code on the same data: bit-identical
  });
  CHECK(summary.failed == 0);
  CHECK(summary.passed == testing::op_cases().size());
  CHECK(reported == testing::op_cases().size());
}

TEST_CASE("the op cases cover every op and every dtype combination", "[testing]") {
  std::set<std::string> ops, names;
  for (const testing::OpCase& c : testing::op_cases()) {
    ops.insert(c.op);
    names.insert(c.name);
    CHECK(c.max_nmse < 1e-4);  // every bound is tight enough to see one wrong element
  }
  for (OpKind op : {OpKind::view,
                    OpKind::get_rows,
                    OpKind::rms_norm,
                    OpKind::rms_norm_mul,
                    OpKind::mul,
                    OpKind::add,
                    OpKind::scale,
                    OpKind::matmul,
                    OpKind::matmul_add,
                    OpKind::matmul_cat,
                    OpKind::matmul_swiglu,
                    OpKind::rope,
                    OpKind::softmax,
                    OpKind::silu,
                    OpKind::swiglu,
                    OpKind::attention,
                    OpKind::kv_write,
                    OpKind::argmax,
                    OpKind::convert,
                    OpKind::paged_attention,
                    OpKind::rms_norm_low_rank}) {
    CHECK(ops.count(op_name(op)) == 1);
  }
  auto has = [&](const std::string& text) {
    for (const std::string& n : names) {
      if (n.find(text) != std::string::npos) return true;
    }
    return false;
  };
  // Every weight type of engine/core/weight_types.def, with rows of 1, 3 and 5 of its blocks
  // (256, 768 and 1280 for the 256-element super-blocks) and odd row counts.
  for (size_t i = 0; i < kDTypeCount; ++i) {
    if (!is_weight_type(DType(i))) continue;
    const std::string w(dtype_name(DType(i)));
    const size_t unit = std::max<size_t>(dtype_info(DType(i)).block_elements, 32);
    INFO(w);
    for (const char* x : {"f32", "f16"}) {
      CHECK(has("matmul w=" + w + " x=" + x + " m=1 "));
      CHECK(has("matmul w=" + w + " x=" + x + " m=65 "));
      CHECK(has(fmt::format("matmul w={} x={} m=1 n_in={} n_out=1", w, x, unit)));
      CHECK(has(fmt::format("matmul w={} x={} m=33 n_in={} n_out=65", w, x, 3 * unit)));
      CHECK(has(fmt::format("matmul w={} x={} m=7 n_in={} n_out=33", w, x, 5 * unit)));
    }
    CHECK(has("get_rows table=" + w));
    CHECK(has("matmul_add w=" + w));
    CHECK(has("matmul_cat w=" + w));
    CHECK(has("matmul_swiglu w=" + w));
  }
  for (const char* text : {"rope normal",
                           "rope neox",
                           "n_rot=32",
                           "freq_scale=0.25",
                           "attention cache=f16",
                           "attention cache=f32",
                           "n_kv_head=1",
                           "window=4",
                           "m=33",
                           "no visible key",
                           "attention+kv_write",
                           "kv_write cache=f16",
                           "kv_write cache=f32",
                           "swiglu fused",
                           "convert f16->f32",
                           "convert f32->f16",
                           "add a=3x5x64 b=5x64",
                           "argmax 3x32000",
                           "paged_attention cache=f32 block=3",
                           "block=1 ",
                           "+shared",
                           "empty_rows=",
                           "padding=",
                           "shuffled",
                           "1/4096"}) {
    INFO(text);
    CHECK(has(text));
  }
}

TEST_CASE("test-ops --op filters by op name or by name text", "[testing]") {
  cpu::CpuBackend a, b;
  std::set<std::string> seen;
  const auto summary = testing::run_op_cases(a, b, "argmax", [&](const testing::CaseResult& r) { seen.insert(r.op); });
  CHECK(seen == std::set<std::string>{"argmax"});
  CHECK(summary.passed == 5);
}

TEST_CASE("a device-side guard catches a write past an output and names the tensor", "[testing]") {
  FaultyBackend faulty(Fault::write_past_output);
  cpu::CpuBackend reference;
  const testing::CaseResult r = testing::run_op_case(find_case("scale 7x33"), faulty, reference);
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.error, ContainsSubstring("guard after output") && ContainsSubstring("scale."));

  // The same backend without the fault passes the case: the failure is the guard's doing.
  cpu::CpuBackend healthy;
  CHECK(testing::run_op_case(find_case("scale 7x33"), healthy, reference).passed);
}

TEST_CASE("the host-side guard catches a read_output that copies too much", "[testing]") {
  FaultyBackend faulty(Fault::overflow_read_output);
  cpu::CpuBackend reference;
  const testing::CaseResult r = testing::run_op_case(find_case("softmax scale=1 7x33"), faulty, reference);
  CHECK_FALSE(r.passed);
  CHECK_THAT(r.error, ContainsSubstring("read_output") && ContainsSubstring("wrote outside"));
}

TEST_CASE("the cpu executable checks its output guards directly", "[testing][cpu]") {
  cpu::CpuBackend backend;
  Graph g;
  const TensorId x = g.input("x", DType::F32, {4});
  const TensorId y = g.name(g.scale(x, 2.0f), "doubled");
  g.mark_output(y);
  const Plan plan = Plan::build(g);
  PrepareOptions options;
  options.guard_bytes = 16;
  cpu::CpuExecutable exe(plan, options);
  const float in[4] = {1, 2, 3, 4};
  exe.set_input(x, std::as_bytes(std::span(in)));
  exe.run();
  float out[4];
  exe.read_output(y, std::as_writable_bytes(std::span(out)));
  CHECK(out[3] == 8.0f);
  exe.tensor_data(y)[-3] = std::byte{0};
  REQUIRE_THROWS_WITH(exe.read_output(y, std::as_writable_bytes(std::span(out))),
                      ContainsSubstring("guard before output 'doubled'"));
}
