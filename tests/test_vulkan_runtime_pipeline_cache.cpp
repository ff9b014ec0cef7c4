// The on-disk VkPipelineCache: saved on Context destruction, loaded by the next Context of the
// same device and driver, and ignored (never handed to the driver) when corrupt or foreign.
#include <fmt/format.h>
#include <unistd.h>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/pipeline.h"
#include "engine/backend/vulkan/probe_kernels.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;
namespace fs = std::filesystem;

namespace {

// Points VKGRAPH_CACHE_DIR at a fresh directory for the test's lifetime.
class ScopedCacheDir {
 public:
  explicit ScopedCacheDir(const char* name)
      : dir_(fs::temp_directory_path() / fmt::format("vkgraph-{}-{}", name, ::getpid())) {
    fs::remove_all(dir_);
    if (const char* old = std::getenv("VKGRAPH_CACHE_DIR")) old_ = old;
    ::setenv("VKGRAPH_CACHE_DIR", dir_.c_str(), 1);
  }
  ~ScopedCacheDir() {
    if (old_) {
      ::setenv("VKGRAPH_CACHE_DIR", old_->c_str(), 1);
    } else {
      ::unsetenv("VKGRAPH_CACHE_DIR");
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  std::optional<std::string> old_;
};

std::shared_ptr<vk::Context> new_context() {
  vk::DeviceRequest request;
  request.validation = true;
  return vk::Context::create(request);
}

std::vector<char> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_all(const fs::path& p, const std::vector<char>& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::vector<std::byte> header_bytes(uint32_t vendor, uint32_t device, const uint8_t* uuid) {
  VkPipelineCacheHeaderVersionOne h{};
  h.headerSize = sizeof(h);
  h.headerVersion = VK_PIPELINE_CACHE_HEADER_VERSION_ONE;
  h.vendorID = vendor;
  h.deviceID = device;
  std::memcpy(h.pipelineCacheUUID, uuid, VK_UUID_SIZE);
  std::vector<std::byte> out(sizeof(h) + 8);
  std::memcpy(out.data(), &h, sizeof(h));
  return out;
}

}  // namespace

TEST_CASE("vulkan pipeline cache header is validated field by field", "[vulkan][runtime][pipeline-cache]") {
  uint8_t uuid[VK_UUID_SIZE];
  for (uint32_t i = 0; i < VK_UUID_SIZE; ++i) uuid[i] = static_cast<uint8_t>(i * 7);
  std::string why;
  const std::vector<std::byte> good = header_bytes(0x10de, 0x2684, uuid);
  CHECK(vk::pipeline_cache_header_valid(good, 0x10de, 0x2684, uuid, &why));

  CHECK_FALSE(vk::pipeline_cache_header_valid(std::span(good).first(10), 0x10de, 0x2684, uuid, &why));
  CHECK_THAT(why, ContainsSubstring("shorter"));
  CHECK_FALSE(vk::pipeline_cache_header_valid(good, 0x1002, 0x2684, uuid, &why));
  CHECK_THAT(why, ContainsSubstring("vendor"));
  CHECK_FALSE(vk::pipeline_cache_header_valid(good, 0x10de, 0x1111, uuid, &why));
  uint8_t other_uuid[VK_UUID_SIZE];
  std::memcpy(other_uuid, uuid, VK_UUID_SIZE);
  other_uuid[15] ^= 1;
  CHECK_FALSE(vk::pipeline_cache_header_valid(good, 0x10de, 0x2684, other_uuid, &why));
  CHECK_THAT(why, ContainsSubstring("pipelineCacheUUID"));

  std::vector<std::byte> bad_version = good;
  bad_version[4] = std::byte{2};
  CHECK_FALSE(vk::pipeline_cache_header_valid(bad_version, 0x10de, 0x2684, uuid, &why));
  CHECK_THAT(why, ContainsSubstring("version"));
  std::vector<std::byte> bad_size = good;
  bad_size[0] = std::byte{0xff};
  bad_size[1] = std::byte{0xff};
  CHECK_FALSE(vk::pipeline_cache_header_valid(bad_size, 0x10de, 0x2684, uuid, &why));
  CHECK_THAT(why, ContainsSubstring("header size"));
}

TEST_CASE("vulkan pipeline cache is saved, reloaded, and survives corrupt or foreign files",
          "[vulkan][runtime][pipeline-cache]") {
  test::ValidationGuard guard;
  ScopedCacheDir cache("pipeline-cache-test");
  fs::path file;
  {
    auto ctx = new_context();
    CHECK_FALSE(ctx->pipelines().loaded_from_disk());
    file = ctx->pipelines().file();
    CHECK(file.parent_path() == cache.dir());
    ctx->pipelines().get({vk::kVectorAddShader, {64}, 3, 4});
  }  // saved here
  REQUIRE(fs::exists(file));
  const std::vector<char> saved = read_all(file);
  REQUIRE(saved.size() >= 24 + sizeof(VkPipelineCacheHeaderVersionOne));  // lavapipe: header only
  CHECK(std::memcmp(saved.data(), "VKGPCAC1", 8) == 0);
  {
    auto ctx = new_context();
    CHECK(ctx->pipelines().loaded_from_disk());
    const vk::Pipeline& p = ctx->pipelines().get({vk::kVectorAddShader, {64}, 3, 4});
    CHECK(p.pipeline != VK_NULL_HANDLE);
  }

  // A flipped byte in the driver's data: the checksum catches it; the file is ignored.
  std::vector<char> corrupt = saved;
  corrupt.back() = static_cast<char>(corrupt.back() ^ 0x40);
  write_all(file, corrupt);
  {
    auto ctx = new_context();
    CHECK_FALSE(ctx->pipelines().loaded_from_disk());
    ctx->pipelines().get({vk::kVectorAddShader, {32}, 3, 4});
  }
  // ... and replaced by a good one on the way out.
  CHECK(read_all(file).size() == saved.size());
  {
    auto ctx = new_context();
    CHECK(ctx->pipelines().loaded_from_disk());
  }

  // Truncated, garbage and empty files are ignored too.
  for (const std::vector<char>& junk :
       {std::vector<char>(saved.begin(), saved.begin() + 30), std::vector<char>(4096, 'x'), std::vector<char>()}) {
    write_all(file, junk);
    auto ctx = new_context();
    CHECK_FALSE(ctx->pipelines().loaded_from_disk());
  }

  // A well-formed file from another device: vendor id changed and the checksum recomputed
  // (FNV-1a over the payload, as the cache writes it), so only the Vulkan header check can
  // reject it.
  std::vector<char> foreign = saved;
  foreign[24 + 8] = static_cast<char>(foreign[24 + 8] ^ 0x01);  // VkPipelineCacheHeaderVersionOne::vendorID
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 24; i < foreign.size(); ++i) {
    h ^= static_cast<uint8_t>(foreign[i]);
    h *= 0x100000001b3ull;
  }
  std::memcpy(foreign.data() + 16, &h, 8);
  write_all(file, foreign);
  {
    auto ctx = new_context();
    CHECK_FALSE(ctx->pipelines().loaded_from_disk());
  }
}
