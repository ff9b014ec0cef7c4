#include "engine/backend/vulkan/pipeline.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/ranges.h>

#include "engine/backend/vulkan/context.h"
#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"
#include "engine/core/log.h"
#include "shaders/embedded.h"

namespace vkgraph::vk {
namespace {

// VKGRAPH_INJECT_PIPELINE_FAILURE=<text>: pipelines of shaders whose name contains it fail as if
// the driver could not compile them (VK_ERROR_UNKNOWN), so tests see the fallback a broken
// driver gets (docs/reliability.md).
bool injected_pipeline_failure(std::string_view shader) {
  const char* env = std::getenv("VKGRAPH_INJECT_PIPELINE_FAILURE");
  return env != nullptr && *env != '\0' && shader.find(env) != std::string_view::npos;
}

// Our wrapper around the driver's cache data: a magic, the payload size and its FNV-1a hash,
// so a truncated or damaged file is detected before the driver ever sees it.
constexpr char kMagic[8] = {'V', 'K', 'G', 'P', 'C', 'A', 'C', '1'};
struct FileHeader {
  char magic[8];
  uint64_t payload_size;
  uint64_t payload_hash;
};
static_assert(sizeof(FileHeader) == 24);

uint64_t fnv1a(std::span<const std::byte> data) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (std::byte b : data) {
    h ^= static_cast<uint8_t>(b);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string hex(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size <= 0) return {};
  in.seekg(0);
  std::vector<std::byte> data(static_cast<size_t>(size));
  in.read(reinterpret_cast<char*>(data.data()), size);
  if (!in) return {};
  return data;
}

std::string pipeline_key(const PipelineDesc& d) {
  return fmt::format("{}|{}|b{}u{}|p{}|s{}", d.shader, fmt::join(d.spec_constants, ","), d.binding_count,
                     d.uniform_bindings, d.push_constant_bytes, d.required_subgroup_size);
}

}  // namespace

VkDescriptorType binding_type(const Pipeline& pipeline, uint32_t i) {
  return (pipeline.uniform_bindings >> i & 1u) != 0 ? VK_DESCRIPTOR_TYPE_UNIFORM_BUFFER
                                                    : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

std::filesystem::path cache_directory() {
  if (const char* dir = std::getenv("VKGRAPH_CACHE_DIR"); dir && *dir) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::filesystem::path(xdg) / "vkgraph";
  if (const char* home = std::getenv("HOME"); home && *home) return std::filesystem::path(home) / ".cache" / "vkgraph";
  return std::filesystem::temp_directory_path() / "vkgraph-cache";
}

bool pipeline_cache_header_valid(std::span<const std::byte> data, uint32_t vendor_id, uint32_t device_id,
                                 const uint8_t (&uuid)[VK_UUID_SIZE], std::string* why) {
  auto bad = [why](std::string text) {
    if (why) *why = std::move(text);
    return false;
  };
  VkPipelineCacheHeaderVersionOne header;
  if (data.size() < sizeof(header)) return bad(fmt::format("{} bytes is shorter than a cache header", data.size()));
  std::memcpy(&header, data.data(), sizeof(header));
  if (header.headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE) {
    return bad(fmt::format("header version {} (expected 1)", static_cast<uint32_t>(header.headerVersion)));
  }
  if (header.headerSize < sizeof(header) || header.headerSize > data.size()) {
    return bad(fmt::format("header size {} (expected {}..{})", header.headerSize, sizeof(header), data.size()));
  }
  if (header.vendorID != vendor_id || header.deviceID != device_id) {
    return bad(fmt::format("made for vendor 0x{:04x} device 0x{:04x}, this is vendor 0x{:04x} device 0x{:04x}",
                           header.vendorID, header.deviceID, vendor_id, device_id));
  }
  if (std::memcmp(header.pipelineCacheUUID, uuid, VK_UUID_SIZE) != 0) {
    return bad(fmt::format("pipelineCacheUUID {} differs from the driver's {}", hex(header.pipelineCacheUUID, 16),
                           hex(uuid, VK_UUID_SIZE)));
  }
  return true;
}

PipelineCache::PipelineCache(Context& context) : context_(context) {
  const DeviceInfo& info = context.info();
  // Keyed by everything that invalidates compiled code: the device, the driver version and the
  // driver's own cache UUID.
  file_ = cache_directory() / fmt::format("pipelines-{:04x}-{:04x}-{:08x}-{}.bin", info.vendor_id, info.device_id,
                                          info.driver_version_raw, hex(info.pipeline_cache_uuid, VK_UUID_SIZE));
  std::vector<std::byte> file = read_file(file_);
  std::span<const std::byte> payload;
  if (!file.empty()) {
    std::string why;
    FileHeader header;
    if (file.size() < sizeof(header)) {
      why = "truncated";
    } else {
      std::memcpy(&header, file.data(), sizeof(header));
      payload = std::span<const std::byte>(file).subspan(sizeof(header));
      if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) {
        why = "not a vkgraph pipeline cache";
      } else if (header.payload_size != payload.size()) {
        why = fmt::format("payload is {} bytes, header says {}", payload.size(), header.payload_size);
      } else if (header.payload_hash != fnv1a(payload)) {
        why = "checksum mismatch";
      } else {
        pipeline_cache_header_valid(payload, info.vendor_id, info.device_id, info.pipeline_cache_uuid, &why);
      }
    }
    if (!why.empty()) {
      log::warn("ignoring pipeline cache {}: {}", file_.string(), why);
      payload = {};
    }
  }
  VkPipelineCacheCreateInfo create{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  create.initialDataSize = payload.size();
  create.pInitialData = payload.empty() ? nullptr : payload.data();
  VkResult r = vkCreatePipelineCache(context.device(), &create, nullptr, &cache_);
  if (r != VK_SUCCESS && !payload.empty()) {
    log::warn("the driver rejected pipeline cache {} ({}); starting empty", file_.string(), result_name(r));
    create.initialDataSize = 0;
    create.pInitialData = nullptr;
    r = vkCreatePipelineCache(context.device(), &create, nullptr, &cache_);
    payload = {};
  }
  vk_check(r, "vkCreatePipelineCache");
  loaded_ = !payload.empty();
  log::debug("pipeline cache {}: {}", file_.string(), loaded_ ? "loaded" : "empty");
}

PipelineCache::~PipelineCache() {
  save();
  VkDevice device = context_.device();
  for (auto& [key, p] : pipelines_) {
    vkDestroyPipeline(device, p->pipeline, nullptr);
    vkDestroyPipelineLayout(device, p->layout, nullptr);
    vkDestroyDescriptorSetLayout(device, p->set_layout, nullptr);
  }
  vkDestroyPipelineCache(device, cache_, nullptr);
}

void PipelineCache::save() {
  std::lock_guard lock(mutex_);
  if (pipelines_.empty()) return;  // nothing compiled: the file on disk (if any) is as good
  size_t size = 0;
  if (vkGetPipelineCacheData(context_.device(), cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
  std::vector<std::byte> data(size);
  if (vkGetPipelineCacheData(context_.device(), cache_, &size, data.data()) != VK_SUCCESS) return;
  data.resize(size);
  FileHeader header;
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.payload_size = data.size();
  header.payload_hash = fnv1a(data);
  std::error_code ec;
  std::filesystem::create_directories(file_.parent_path(), ec);
  // Written to a temporary file and renamed, so a concurrent reader never sees half a file.
  const std::filesystem::path tmp = file_.string() + fmt::format(".tmp{}", static_cast<long>(getpid()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&header), sizeof(header));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) {
      log::warn("could not write pipeline cache {}", tmp.string());
      std::filesystem::remove(tmp, ec);
      return;
    }
  }
  std::filesystem::rename(tmp, file_, ec);
  if (ec) {
    log::warn("could not save pipeline cache {}: {}", file_.string(), ec.message());
    std::filesystem::remove(tmp, ec);
  }
}

const Pipeline& PipelineCache::get(const PipelineDesc& desc) {
  std::lock_guard lock(mutex_);
  const std::string key = pipeline_key(desc);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;

  const DeviceInfo& info = context_.info();
  const shaders::EmbeddedShader* shader = shaders::find(desc.shader);
  VKGRAPH_CHECK(shader != nullptr, "shader '{}' is not embedded in this build", desc.shader);
  VKGRAPH_CHECK(!shader->needs_coopmat || context_.has(Feature::cooperative_matrix),
                "shader '{}' uses cooperative matrices, which device '{}' lacks (VK_KHR_cooperative_matrix)",
                desc.shader, info.name);
  VKGRAPH_CHECK(desc.push_constant_bytes % 4 == 0 && desc.push_constant_bytes <= info.max_push_constants_size,
                "shader '{}': {} bytes of push constants; device '{}' allows {} (multiple of 4)", desc.shader,
                desc.push_constant_bytes, info.name, info.max_push_constants_size);
  VKGRAPH_CHECK(desc.binding_count <= info.max_storage_buffers_per_stage,
                "shader '{}': {} storage buffers; device '{}' allows {} per stage", desc.shader, desc.binding_count,
                info.name, info.max_storage_buffers_per_stage);
  if (desc.required_subgroup_size) {
    context_.require(Feature::subgroup_size_control, desc.shader);
    VKGRAPH_CHECK(
        desc.required_subgroup_size >= info.min_subgroup_size && desc.required_subgroup_size <= info.max_subgroup_size,
        "shader '{}': subgroup size {} outside device '{}' range {}..{}", desc.shader, desc.required_subgroup_size,
        info.name, info.min_subgroup_size, info.max_subgroup_size);
  }

  const auto start = std::chrono::steady_clock::now();
  VkDevice device = context_.device();
  auto p = std::make_unique<Pipeline>();
  p->shader = desc.shader;
  p->spec_constants = desc.spec_constants;
  p->binding_count = desc.binding_count;
  p->uniform_bindings = desc.uniform_bindings;
  p->push_constant_bytes = desc.push_constant_bytes;

  std::vector<VkDescriptorSetLayoutBinding> bindings(desc.binding_count);
  for (uint32_t i = 0; i < desc.binding_count; ++i) {
    bindings[i] = {i, binding_type(*p, i), 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  }
  VkDescriptorSetLayoutCreateInfo set_info{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_info.bindingCount = desc.binding_count;
  set_info.pBindings = bindings.data();
  vk_check(vkCreateDescriptorSetLayout(device, &set_info, nullptr, &p->set_layout), "vkCreateDescriptorSetLayout");

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, desc.push_constant_bytes};
  VkPipelineLayoutCreateInfo layout_info{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &p->set_layout;
  layout_info.pushConstantRangeCount = desc.push_constant_bytes ? 1 : 0;
  layout_info.pPushConstantRanges = &push;
  VkResult r = vkCreatePipelineLayout(device, &layout_info, nullptr, &p->layout);
  if (r != VK_SUCCESS) {
    vkDestroyDescriptorSetLayout(device, p->set_layout, nullptr);
    vk_check(r, "vkCreatePipelineLayout");
  }

  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = shader->spirv.size_bytes();
  module_info.pCode = shader->spirv.data();
  VkShaderModule module = VK_NULL_HANDLE;
  r = vkCreateShaderModule(device, &module_info, nullptr, &module);

  std::vector<VkSpecializationMapEntry> entries(desc.spec_constants.size());
  for (uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, i * 4u, 4u};
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = desc.spec_constants.size() * 4;
  spec.pData = desc.spec_constants.data();

  VkPipelineShaderStageRequiredSubgroupSizeCreateInfo subgroup{
      VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO};
  subgroup.requiredSubgroupSize = desc.required_subgroup_size;
  VkComputePipelineCreateInfo pipe_info{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  pipe_info.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  pipe_info.stage.pNext = desc.required_subgroup_size ? &subgroup : nullptr;
  pipe_info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipe_info.stage.module = module;
  pipe_info.stage.pName = "main";
  pipe_info.stage.pSpecializationInfo = entries.empty() ? nullptr : &spec;
  pipe_info.layout = p->layout;
  if (r == VK_SUCCESS) r = vkCreateComputePipelines(device, cache_, 1, &pipe_info, nullptr, &p->pipeline);
  if (r == VK_SUCCESS && injected_pipeline_failure(desc.shader)) {
    vkDestroyPipeline(device, p->pipeline, nullptr);
    r = VK_ERROR_UNKNOWN;
  }
  if (module != VK_NULL_HANDLE) vkDestroyShaderModule(device, module, nullptr);
  if (r != VK_SUCCESS) {
    vkDestroyPipelineLayout(device, p->layout, nullptr);
    vkDestroyDescriptorSetLayout(device, p->set_layout, nullptr);
    failed_.insert(desc.shader);
    throw PipelineCreationError(
        fmt::format("creating the compute pipeline for shader '{}' (constants [{}]) on device '{}' (driver {} {}) "
                    "failed: {}",
                    desc.shader, fmt::join(desc.spec_constants, ", "), info.name, info.driver_name, info.driver_info,
                    result_name(r)));
  }
  p->compile_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  compile_ms_ += p->compile_ms;
  log::debug("pipeline {} compiled in {:.2f} ms", key, p->compile_ms);
  return *pipelines_.emplace(key, std::move(p)).first->second;
}

bool PipelineCache::failed(std::string_view shader) const {
  std::lock_guard lock(mutex_);
  return failed_.find(shader) != failed_.end();
}

double PipelineCache::total_compile_ms() const {
  std::lock_guard lock(mutex_);
  return compile_ms_;
}

size_t PipelineCache::pipeline_count() const {
  std::lock_guard lock(mutex_);
  return pipelines_.size();
}

}  // namespace vkgraph::vk
