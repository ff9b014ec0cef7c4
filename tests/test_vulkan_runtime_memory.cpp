// Device memory: sub-allocation from blocks, alignment, reuse, accounting, limits and copies.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <numeric>
#include <vector>

#include "engine/backend/vulkan/memory.h"
#include "tests/vulkan_test_support.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

TEST_CASE("vulkan buffers are sub-allocated from shared blocks", "[vulkan][runtime][memory]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  const uint64_t align = ctx->info().min_storage_buffer_offset_alignment;
  const vk::MemoryStats before = mem.stats();

  vk::Buffer a = mem.allocate(1000, "a");
  vk::Buffer b = mem.allocate(3, "b");
  vk::Buffer c = mem.allocate(4096, "c");
  CHECK(a.size() == 1000);
  CHECK(b.size() == 3);
  // Small buffers share one block's VkBuffer at aligned, disjoint offsets.
  CHECK(a.handle() == b.handle());
  CHECK(b.handle() == c.handle());
  for (const vk::Buffer* x : {&a, &b, &c}) CHECK(x->offset() % align == 0);
  CHECK(a.offset() != b.offset());
  CHECK(b.offset() != c.offset());
  const vk::MemoryStats during = mem.stats();
  CHECK(during.live_buffers == before.live_buffers + 3);
  CHECK(during.bytes_in_use >= before.bytes_in_use + 1000 + 3 + 4096);
  CHECK(during.peak_bytes >= during.bytes_in_use);

  // Freed space is reused.
  const VkDeviceSize b_offset = b.offset();
  b = vk::Buffer();
  vk::Buffer d = mem.allocate(3, "d");
  CHECK(d.offset() == b_offset);
  CHECK(mem.stats().live_buffers == before.live_buffers + 3);
}

TEST_CASE("vulkan memory upload, download and fill round-trip", "[vulkan][runtime][memory]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  const size_t n = 100003;
  vk::Buffer buf = mem.allocate(n, "bytes");
  std::vector<uint8_t> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>(i * 31 + 7);
  mem.upload(buf, 0, std::as_bytes(std::span(data)));
  std::vector<uint8_t> back(n);
  mem.download(buf, 0, std::as_writable_bytes(std::span(back)));
  CHECK(back == data);

  // Partial fill with unaligned edges; the bytes around it keep their values.
  mem.fill_zero(buf, 5, 1001);
  mem.download(buf, 0, std::as_writable_bytes(std::span(back)));
  size_t wrong = 0;
  for (size_t i = 0; i < n; ++i) {
    const uint8_t expected = (i >= 5 && i < 1006) ? 0 : data[i];
    if (back[i] != expected) ++wrong;
  }
  CHECK(wrong == 0);
  // Offset download.
  std::vector<uint8_t> tail(10);
  mem.download(buf, n - 10, std::as_writable_bytes(std::span(tail)));
  CHECK(std::equal(tail.begin(), tail.end(), data.end() - 10));

  CHECK_THROWS_WITH(mem.upload(buf, n - 1, std::as_bytes(std::span(data)).first(2)),
                    ContainsSubstring("overflows buffer 'bytes'"));
  CHECK_THROWS_WITH(mem.download(buf, n + 1, std::as_writable_bytes(std::span(tail)).first(0)),
                    ContainsSubstring("overflows"));
}

TEST_CASE("vulkan memory accounting tracks use and peak", "[vulkan][runtime][memory]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  mem.reset_peak();
  const uint64_t base = mem.stats().bytes_in_use;
  {
    vk::Buffer big = mem.allocate(1 << 20, "big");
    CHECK(mem.stats().bytes_in_use == base + (1 << 20));
  }
  CHECK(mem.stats().bytes_in_use == base);
  CHECK(mem.stats().peak_bytes == base + (1 << 20));
  CHECK(mem.stats().bytes_reserved >= mem.stats().bytes_in_use);
}

TEST_CASE("vulkan buffers beyond the device limits are clear errors", "[vulkan][runtime][memory]") {
  auto ctx = test::vulkan_context();
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  const uint64_t range = ctx->info().max_storage_buffer_range;
  CHECK_THROWS_WITH(mem.allocate(range + 1, "huge tensor"), ContainsSubstring("huge tensor") &&
                                                                ContainsSubstring("maxStorageBufferRange") &&
                                                                ContainsSubstring(std::to_string(range + 1)));
  CHECK_THROWS_WITH(mem.allocate(0, "nothing"), ContainsSubstring("empty"));
  // A buffer larger than a block but within the limits gets its own allocation.
  if (mem.block_size() < mem.max_buffer_bytes()) {
    const uint64_t size = std::min<uint64_t>(mem.block_size() + 4096, mem.max_buffer_bytes());
    vk::Buffer large = mem.allocate(size, "large");
    CHECK(large.size() == size);
    std::vector<std::byte> probe(16, std::byte{0x5a});
    mem.upload(large, size - 16, probe);
    std::vector<std::byte> back(16);
    mem.download(large, size - 16, back);
    CHECK(back == probe);
  }
}

TEST_CASE("vulkan staged uploads and downloads round-trip", "[vulkan][runtime][memory]") {
  // Discrete GPUs get device-local memory the host cannot map; force that path here.
  vk::DeviceRequest request;
  request.validation = true;
  request.force_staging = true;
  auto ctx = vk::Context::create(request);
  test::ValidationGuard guard;
  vk::MemoryAllocator& mem = ctx->memory();
  REQUIRE_FALSE(mem.host_visible());
  // Larger than one staging chunk (32 MiB) so the copy loops, and an odd size.
  const size_t n = (40u << 20) + 3;
  vk::Buffer buf = mem.allocate(n, "staged");
  CHECK(buf.mapped() == nullptr);
  std::vector<uint8_t> data(n);
  for (size_t i = 0; i < n; ++i) data[i] = static_cast<uint8_t>((i * 2654435761u) >> 13);
  mem.upload(buf, 0, std::as_bytes(std::span(data)));
  std::vector<uint8_t> back(n);
  mem.download(buf, 0, std::as_writable_bytes(std::span(back)));
  CHECK(back == data);
  // Fill with unaligned edges through vkCmdFillBuffer plus small uploads.
  mem.fill_zero(buf, 3, 4099);
  std::vector<uint8_t> head(5000);
  mem.download(buf, 0, std::as_writable_bytes(std::span(head)));
  size_t wrong = 0;
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] != ((i >= 3 && i < 4102) ? 0 : data[i])) ++wrong;
  }
  CHECK(wrong == 0);
}
