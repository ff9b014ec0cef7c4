#pragma once
// Compute pipelines from the embedded SPIR-V (vkgraph::shaders::find) with specialization
// constants, created once per (shader, constants, layout) and kept for the Context's life, with
// an on-disk VkPipelineCache so a second run skips the driver's compilation.
//
// Layout convention for every kernel: descriptor set 0 holds `binding_count` storage buffers at
// bindings 0..n-1; push constants (if any) are one block visible to the compute stage;
// specialization constant i has constant_id i.

#include <vulkan/vulkan.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace vkgraph::vk {

class Context;

// The driver failed to build a pipeline (vkCreateShaderModule or vkCreateComputePipelines): the
// executable then falls back to the kernel table's next row (VulkanExecutable::lower_steps).
class PipelineCreationError : public Error {
 public:
  using Error::Error;
};

struct PipelineDesc {
  std::string shader;                    // embedded variant name, e.g. "probe/vector_add_f32"
  std::vector<uint32_t> spec_constants;  // constant_id 0..n-1, each 4 bytes
  uint32_t binding_count = 0;            // buffers at set 0, bindings 0..n-1: storage buffers
  uint32_t push_constant_bytes = 0;      // multiple of 4, <= maxPushConstantsSize
  uint32_t required_subgroup_size = 0;   // 0: the driver's choice; else needs subgroup size control
  uint32_t uniform_bindings = 0;         // ... except these: bit i, binding i is a uniform buffer
};

struct Pipeline {
  std::string shader;
  std::vector<uint32_t> spec_constants;
  uint32_t binding_count = 0;
  uint32_t uniform_bindings = 0;  // bit i: binding i is a uniform buffer (else a storage buffer)
  uint32_t push_constant_bytes = 0;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  double compile_ms = 0.0;  // wall time of vkCreateComputePipelines (and module creation)
};

// The descriptor type of a pipeline's binding i.
VkDescriptorType binding_type(const Pipeline& pipeline, uint32_t i);

class PipelineCache {
 public:
  // Loads the on-disk cache for this device when present and valid.
  explicit PipelineCache(Context& context);
  // Saves the cache (see save()) and destroys every pipeline.
  ~PipelineCache();
  PipelineCache(const PipelineCache&) = delete;
  PipelineCache& operator=(const PipelineCache&) = delete;

  // The pipeline for `desc`, created on first use. The reference stays valid for the Context's
  // life. Throws Error naming the shader when it is not embedded, the push constants exceed the
  // device limit, or creation fails.
  const Pipeline& get(const PipelineDesc& desc);

  // True when creating a pipeline of `shader` failed on this device before (PipelineCreationError):
  // kernel selection skips its rows from then on.
  bool failed(std::string_view shader) const;

  // Writes the VkPipelineCache data to file() (temp file + rename). Errors are warnings only.
  void save();

  double total_compile_ms() const;  // sum over pipelines created by this process
  size_t pipeline_count() const;
  const std::filesystem::path& file() const { return file_; }
  // Whether a cache file was found and accepted at start (false if absent, corrupt or foreign).
  bool loaded_from_disk() const { return loaded_; }
  VkPipelineCache handle() const { return cache_; }

 private:
  Context& context_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::filesystem::path file_;
  bool loaded_ = false;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;  // key: shader|consts|layout
  std::set<std::string, std::less<>> failed_;                   // shaders the driver failed to build
  double compile_ms_ = 0.0;
};

// The cache directory: $VKGRAPH_CACHE_DIR, else $XDG_CACHE_HOME/vkgraph, else ~/.cache/vkgraph.
std::filesystem::path cache_directory();

// Checks that `data` starts with a VkPipelineCacheHeaderVersionOne matching the device's
// vendor id, device id and pipelineCacheUUID, with a sane header size. Returns false and sets
// *why when it does not (the caller ignores the file then).
bool pipeline_cache_header_valid(std::span<const std::byte> data, uint32_t vendor_id, uint32_t device_id,
                                 const uint8_t (&uuid)[VK_UUID_SIZE], std::string* why);

}  // namespace vkgraph::vk
