// Device limits made small on purpose (VKGRAPH_LIMIT_*, engine/backend/vulkan/device_limits.h):
// the probed limits follow the overrides, a weight larger than one binding runs in ranges of
// its rows with unchanged logits, one larger than an allocation is refused naming the tensor,
// its size and the limit, a model larger than the device's memory is refused before
// anything is allocated, and a model that fits the small limits still generates the same text.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "engine/backend/registry.h"
#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/device_limits.h"
#include "engine/backend/vulkan/memory.h"
#include "engine/core/error.h"
#include "include/vkgraph.h"
#include "models/model.h"
#include "models/session.h"
#include "tests/scoped_env.h"
#include "tests/shared_files.h"
#include "tests/vulkan_test_support.h"

using Catch::Matchers::ContainsSubstring;

using vkgraph::test::ScopedEnv;

namespace {

using namespace vkgraph;

std::string stories() { return testing::shared_file("models/stories260K.gguf"); }

// Greedy text of the model on Vulkan through the C API (a fresh device context, so the
// environment's limits apply).
std::string greedy_text(const std::string& path, int n_tokens) {
  vkgraph_model_params mp = vkgraph_model_default_params();
  mp.backend = "vulkan";
  vkgraph_model* model = nullptr;
  const vkgraph_status s = vkgraph_model_load(path.c_str(), &mp, &model);
  INFO(vkgraph_last_error());
  REQUIRE(s == VKGRAPH_OK);
  vkgraph_context_params cp = vkgraph_context_default_params();
  cp.n_ctx = 128;  // a small KV cache, so the state fits the small limits too
  vkgraph_context* ctx = nullptr;
  const vkgraph_status c = vkgraph_context_create(model, &cp, &ctx);
  INFO(vkgraph_last_error());
  REQUIRE(c == VKGRAPH_OK);
  vkgraph_sampler_params sp = vkgraph_sampler_default_params();
  sp.temperature = 0;
  vkgraph_sampler* sampler = nullptr;
  REQUIRE(vkgraph_sampler_create(&sp, &sampler) == VKGRAPH_OK);
  const std::string prompt = "Once upon a time";
  std::vector<vkgraph_token> ids(64);
  size_t n = 0;
  REQUIRE(vkgraph_tokenize(model, prompt.data(), prompt.size(), 1, 1, ids.data(), ids.size(), &n) == VKGRAPH_OK);
  ids.resize(n);
  vkgraph_generate_params gp = vkgraph_generate_default_params();
  gp.max_tokens = n_tokens;
  std::string text;
  const auto collect = [](vkgraph_token, const char* piece, size_t len, void* user) -> int {
    static_cast<std::string*>(user)->append(piece, len);
    return 0;
  };
  vkgraph_stop_reason stop{};
  const vkgraph_status g = vkgraph_generate(ctx, sampler, ids.data(), ids.size(), &gp, collect, &text, &stop);
  INFO(vkgraph_last_error());
  REQUIRE(g == VKGRAPH_OK);
  REQUIRE(vkgraph_sampler_free(sampler) == VKGRAPH_OK);
  REQUIRE(vkgraph_context_free(ctx) == VKGRAPH_OK);
  REQUIRE(vkgraph_model_free(model) == VKGRAPH_OK);
  return text;
}

}  // namespace

TEST_CASE("limits: sizes parse with K M G suffixes and bad values are refused naming the variable", "[limits]") {
  CHECK(vk::parse_size("4096") == 4096u);
  CHECK(vk::parse_size("64K") == 65536u);
  CHECK(vk::parse_size("128M") == 134217728u);
  CHECK(vk::parse_size("128MiB") == 134217728u);
  CHECK(vk::parse_size("2G") == 2147483648u);
  CHECK_FALSE(vk::parse_size(""));
  CHECK_FALSE(vk::parse_size("M"));
  CHECK_FALSE(vk::parse_size("12Q"));
  CHECK_FALSE(vk::parse_size("-5"));
  CHECK_FALSE(vk::parse_size("99999999999999999999"));
  CHECK_FALSE(vk::parse_size("17179869184G"));  // 2^34 GiB overflows 64 bits
  ScopedEnv bad("VKGRAPH_LIMIT_STORAGE_RANGE", "lots");
  CHECK_THROWS_WITH(vk::limit_overrides(),
                    ContainsSubstring("VKGRAPH_LIMIT_STORAGE_RANGE") && ContainsSubstring("lots"));
}

TEST_CASE("limits: the overrides lower the probed device limits and the allocator follows", "[limits][vulkan]") {
  const uint64_t real_range = test::vulkan_context()->info().max_storage_buffer_range;
  ScopedEnv range("VKGRAPH_LIMIT_STORAGE_RANGE", "64K");
  ScopedEnv alloc("VKGRAPH_LIMIT_ALLOCATION", "1M");
  ScopedEnv heap("VKGRAPH_LIMIT_HEAP", "8M");
  auto backend = create_backend("vulkan");
  auto& vb = dynamic_cast<vk::VulkanBackend&>(*backend);
  const vk::DeviceInfo& info = vb.context()->info();
  CHECK(info.max_storage_buffer_range == 65536u);
  CHECK(info.max_memory_allocation_size == 1048576u);
  CHECK(info.device_local_bytes() <= 8u * 1048576u * info.memory_heaps.size());
  vk::MemoryAllocator& mem = vb.context()->memory();
  CHECK(mem.max_buffer_bytes() == 65536u);
  CHECK(mem.block_size() <= 1048576u);
  CHECK(mem.heap_bytes() == 8u * 1048576u);
  CHECK_THROWS_WITH(mem.allocate(65536 + 4, "wide tensor"),
                    ContainsSubstring("wide tensor") && ContainsSubstring("65540") &&
                        ContainsSubstring("maxStorageBufferRange") && ContainsSubstring("65536"));
  // Within the limits, buffers work as usual.
  vk::Buffer b = mem.allocate(65536, "fits");
  std::vector<std::byte> probe(65536, std::byte{0x3c});
  mem.upload(b, 0, probe);
  std::vector<std::byte> back(65536);
  mem.download(b, 0, back);
  CHECK(back == probe);
  // A value above the device's own limit is ignored: overrides only lower limits.
  ScopedEnv wide("VKGRAPH_LIMIT_STORAGE_RANGE", std::to_string(real_range) + "0");
  auto other = create_backend("vulkan");
  CHECK(dynamic_cast<vk::VulkanBackend&>(*other).context()->info().max_storage_buffer_range == real_range);
}

// Logits of a 12-token prompt at every position, then 3 decode steps, on Vulkan (a fresh
// backend, so the environment's limits apply).
std::vector<float> stories_logits() {
  auto backend = create_backend("vulkan");
  auto model = models::Model::load(stories(), *backend);
  models::Session session(*model, *backend, {64});
  std::vector<int32_t> prompt(12);
  const auto n_vocab = size_t(model->hparams().n_vocab);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = int32_t((i * 37 + 11) % n_vocab);
  std::vector<float> logits = session.eval(prompt, true);
  for (int32_t step = 0; step < 3; ++step) {
    const int32_t one[] = {int32_t((step * 101 + 7) % n_vocab)};
    const std::vector<float> next = session.eval(one);
    logits.insert(logits.end(), next.begin(), next.end());
  }
  return logits;
}

TEST_CASE("limits: a weight over maxStorageBufferRange runs in ranges of its rows with the same logits",
          "[limits][vulkan]") {
  // stories260K's largest tensor is token_embd.weight, 512 x 64 f32 = 131072 bytes, read by the
  // embedding (get_rows) and by the output projection (matmul; the file ties the two). Bound in
  // ranges of at most 64 KiB or 48 KiB (255 or 191 rows), the prompt's every-position logits (a
  // dispatch per range and token) and the decode steps' must be the unbounded run's exactly:
  // each output element is computed by the same kernel with the same operands in the same order.
  // (Binding the table whole is refused over the limit, so running at all means ranges.)
  const std::vector<float> whole = stories_logits();
  REQUIRE(whole.size() == (12 + 3) * 512u);
  CHECK(std::all_of(whole.begin(), whole.end(), [](float v) { return std::isfinite(v); }));
  for (const char* limit : {"64K", "48K"}) {
    INFO("VKGRAPH_LIMIT_STORAGE_RANGE=" << limit);
    ScopedEnv range("VKGRAPH_LIMIT_STORAGE_RANGE", limit);
    const std::vector<float> ranges = stories_logits();
    REQUIRE(ranges.size() == whole.size());
    size_t differ = 0;
    for (size_t i = 0; i < whole.size(); ++i) differ += ranges[i] == whole[i] ? 0 : 1;  // NaN differs
    CHECK(differ == 0);
  }
  // Ops other than get_rows and matmul bind their weights whole: at 32 KiB the feed-forward
  // weights (172 x 64 f32 = 44032 bytes, read by the fused matmul_swiglu) no longer fit, and the
  // step is refused naming the tensor and the limit.
  ScopedEnv range("VKGRAPH_LIMIT_STORAGE_RANGE", "32K");
  CHECK_THROWS_WITH(stories_logits(), ContainsSubstring("ffn_") && ContainsSubstring("44032") &&
                                          ContainsSubstring("maxStorageBufferRange") && ContainsSubstring("32768"));
}

TEST_CASE("limits: a tensor over maxMemoryAllocationSize is refused naming tensor size and limit", "[limits][vulkan]") {
  ScopedEnv alloc("VKGRAPH_LIMIT_ALLOCATION", "100K");
  auto backend = create_backend("vulkan");
  CHECK_THROWS_WITH(models::Model::load(stories(), *backend),
                    ContainsSubstring("token_embd.weight") && ContainsSubstring("131072") &&
                        ContainsSubstring("maxMemoryAllocationSize") && ContainsSubstring("102400"));
  CHECK(backend->storage_bytes() == 0);
}

TEST_CASE("limits: a model larger than device memory is refused before any allocation with the sizes named",
          "[limits][vulkan]") {
  // The model's weights take about 1 MiB; a 512 KiB heap cannot hold them.
  ScopedEnv heap("VKGRAPH_LIMIT_HEAP", "512K");
  auto backend = create_backend("vulkan");
  auto& vb = dynamic_cast<vk::VulkanBackend&>(*backend);
  const uint64_t reserved_before = vb.context()->memory().stats().bytes_reserved;
  try {
    (void)models::Model::load(stories(), *backend);
    FAIL("the model loaded into a 512 KiB heap");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK_THAT(msg, ContainsSubstring("weights need") && ContainsSubstring("524288") &&
                        ContainsSubstring(vb.context()->info().name));
  }
  CHECK(backend->storage_bytes() == 0);
  CHECK(vb.context()->memory().stats().bytes_reserved == reserved_before);
}

TEST_CASE("limits: a model that fits small limits generates the same text as without them", "[limits][vulkan]") {
  const std::string reference = greedy_text(stories(), 16);
  REQUIRE(reference.size() > 10);
  // Bindings of at most the largest tensor's size, memory blocks of 1 MiB, a 16 MiB heap.
  ScopedEnv range("VKGRAPH_LIMIT_STORAGE_RANGE", "128K");
  ScopedEnv alloc("VKGRAPH_LIMIT_ALLOCATION", "1M");
  ScopedEnv heap("VKGRAPH_LIMIT_HEAP", "16M");
  CHECK(greedy_text(stories(), 16) == reference);
}

TEST_CASE("limits: without shaderInt64 the mat-vec kernels run the model to the same logits", "[limits][vulkan]") {
  // The row kernels read weights and activations in 64-bit words (matmul/x_words.glsl); a device
  // without shaderInt64 runs the mat-vec kernels instead. Their sums run in another order, so
  // the logits are not the same bits: within f32 rounding of sums of at most 288 products
  // (relative error about 1e-6, an NMSE about 1e-12; 1e-9 leaves room and still fails a wrong
  // kernel, whose NMSE is of order 1).
  const std::vector<float> rows = stories_logits();
  ScopedEnv no64("VKGRAPH_LIMIT_INT64", "0");
  const std::vector<float> matvec = stories_logits();
  REQUIRE(matvec.size() == rows.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    err += (double(matvec[i]) - rows[i]) * (double(matvec[i]) - rows[i]);
    ref += double(rows[i]) * rows[i];
  }
  const double nmse = err / ref;
  CHECK(ref > 0);
  CHECK(nmse <= 1e-9);  // NaN fails
}
