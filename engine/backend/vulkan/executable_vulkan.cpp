#include "engine/backend/vulkan/executable_vulkan.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/backend/vulkan/backend_vulkan.h"
#include "engine/backend/vulkan/kernel_table.h"
#include "engine/backend/vulkan/lowering_add_norm.h"
#include "engine/backend/vulkan/lowering_cat_rope.h"
#include "engine/backend/vulkan/lowering_rope_kv.h"
#include "engine/core/error.h"
#include "engine/core/log.h"

namespace vkgraph::vk {
namespace {

// The byte written around outputs when guard bands are asked for (PrepareOptions::guard_bytes).
constexpr std::byte kCanary{0xA5};

// Buffers must be non-empty; a tensor of zero bytes still gets a minimal one.
constexpr size_t kMinBufferBytes = 16;

}  // namespace

VulkanExecutable::VulkanExecutable(std::shared_ptr<Context> context, const Plan& plan, const PrepareOptions& options)
    : context_(std::move(context)), plan_(plan), options_(options) {
  allocate_buffers();
  lower_steps();
  record();
}

VulkanExecutable::~VulkanExecutable() = default;

void VulkanExecutable::allocate_buffers() {
  MemoryAllocator& memory = context_->memory();
  if (plan_.arena_bytes() > 0) arena_ = memory.allocate(plan_.arena_bytes(), "arena");
  for (TensorId id : plan_.inputs()) {
    const Location& loc = plan_.location(id);
    OwnBuffer own;
    own.bytes = loc.bytes;
    own.buffer = memory.allocate(std::max(loc.bytes, kMinBufferBytes), "input " + plan_.graph().node(id).name);
    memory.fill_zero(own.buffer);  // a run before set_input reads zeros, not garbage
    inputs_.emplace(id.index, std::move(own));
  }
  for (TensorId id : plan_.outputs()) {
    const Location& loc = plan_.location(id);
    OwnBuffer own;
    own.bytes = loc.bytes;
    own.guard = options_.guard_bytes;
    own.buffer =
        memory.allocate(std::max(loc.bytes + 2 * own.guard, kMinBufferBytes), "output " + plan_.graph().node(id).name);
    if (own.guard > 0) fill_guards(own);
    outputs_.emplace(id.index, std::move(own));
  }
}

void VulkanExecutable::fill_guards(const OwnBuffer& own) {
  const std::vector<std::byte> canary(own.guard, kCanary);
  context_->memory().upload(own.buffer, 0, canary);
  context_->memory().upload(own.buffer, own.guard + own.bytes, canary);
}

const VulkanExecutable::OwnBuffer& VulkanExecutable::own_buffer(const std::map<int32_t, OwnBuffer>& buffers,
                                                                TensorId id, const char* what) const {
  auto it = buffers.find(id.index);
  if (it == buffers.end()) {
    const std::string name =
        id.index >= 0 && size_t(id.index) < plan_.graph().size() ? plan_.graph().node(id).name : std::string("?");
    fail("tensor #{} '{}' is not an {} of this plan", id.index, name, what);
  }
  return it->second;
}

BoundTensor VulkanExecutable::bind(TensorId id, uint32_t unit) const {
  return bind_part(id, unit, 0, plan_.location(id).bytes);
}

BoundTensor VulkanExecutable::bind_part(TensorId id, uint32_t unit, size_t first, size_t bytes) const {
  const Location& loc = plan_.location(id);
  const Node& node = plan_.graph().node(id);
  const Buffer* buffer = nullptr;
  VKGRAPH_CHECK(first <= loc.bytes && bytes <= loc.bytes - first, "tensor '{}': bytes [{}, {}) are outside its {}",
                node.name, first, first + bytes, loc.bytes);
  size_t offset = loc.offset + first;
  switch (loc.placement) {
    case Placement::arena:
      buffer = &arena_;
      break;
    case Placement::input:
      buffer = &own_buffer(inputs_, loc.base, "input").buffer;
      break;
    case Placement::output: {
      const OwnBuffer& own = own_buffer(outputs_, loc.base, "output");
      buffer = &own.buffer;
      offset += own.guard;
      break;
    }
    case Placement::storage: {
      const Node& base = plan_.graph().node(loc.base);
      VKGRAPH_CHECK(base.storage != nullptr, "tensor '{}': its base '{}' has no storage", node.name, base.name);
      buffer = &vulkan_storage(*base.storage, base.name).buffer();
      break;
    }
  }
  // Descriptor offsets must be multiples of minStorageBufferOffsetAlignment; a view may start
  // anywhere, so bind from the aligned offset below it and pass the rest in elements.
  const size_t align = std::max<size_t>(context_->info().min_storage_buffer_offset_alignment, 1);
  const size_t aligned = offset / align * align;
  const size_t shift = offset - aligned;
  VKGRAPH_CHECK(shift % unit == 0, "tensor '{}' starts at byte {}, not a multiple of its {}-byte elements", node.name,
                offset, unit);
  const size_t size = std::max<size_t>(shift + bytes, std::min<size_t>(unit, buffer->size() - aligned));
  VKGRAPH_CHECK(
      size <= context_->info().max_storage_buffer_range,
      "tensor '{}' needs a binding of {} bytes, over maxStorageBufferRange ({}) of device '{}': only get_rows "
      "and matmul bind a tensor in ranges of rows",
      node.name, size, context_->info().max_storage_buffer_range, context_->info().name);
  return {buffer->range(aligned, size), uint32_t(shift / unit)};
}

namespace {

PipelineDesc pipeline_desc(const Dispatch& d, const DeviceInfo& device) {
  PipelineDesc desc;
  desc.shader = std::string(d.kernel->variant.shader);
  desc.spec_constants = d.spec_constants;
  desc.binding_count = uint32_t(d.buffers.size());
  desc.uniform_bindings = d.uniform_bindings;
  desc.push_constant_bytes = uint32_t(d.push.size());
  desc.required_subgroup_size = pipeline_subgroup_size(device, d.kernel->variant.requirements);
  return desc;
}

}  // namespace

void VulkanExecutable::lower_steps() {
  const DeviceInfo& device = context_->info();
  PipelineCache& cache = context_->pipelines();
  const size_t pipelines_before = cache.pipeline_count();
  const double compile_ms_before = cache.total_compile_ms();
  // Each step's scratch is its own range of one buffer, at offsets the descriptors accept.
  const uint64_t align = std::max<uint64_t>(device.min_storage_buffer_offset_alignment, 1);
  std::vector<uint64_t> scratch_base;  // per dispatch: its step's range in scratch_
  uint64_t scratch_bytes = 0;
  const Graph& graph = plan_.graph();
  const auto builds = [&cache](const KernelRow& r) { return !cache.failed(r.variant.shader); };
  // The row a step would run on its own, where no test forces it.
  const auto unforced_row = [&](TensorId id) -> const KernelRow* {
    const KernelRow& row = select_kernel_row(device, kernel_key(graph, graph.node(id)));
    return kernel_row_forced(row) ? nullptr : &row;
  };
  // Ropes that also perform the kv_writes beside them (lowering_rope_kv.cpp): where the device has
  // the combined kernel and no test forces the separate ones.
  const auto combined_allowed = [&](TensorId rope, DType cache_type, const RopeKvWrites& w) {
    std::vector<TensorId> parts{rope};
    if (w.from_result) parts.push_back(plan_.steps()[*w.from_result].node);
    for (size_t s : w.copied) parts.push_back(plan_.steps()[s].node);
    try {
      for (TensorId part : parts) {
        if (unforced_row(part) == nullptr) return false;
      }
      select_kernel_row(device, rope_kv_key(graph.node(rope), cache_type), builds);
    } catch (const Error&) {
      return false;
    }
    return true;
  };
  const RopeKvAbsorption absorption = find_rope_kv_absorption(plan_, combined_allowed);
  // Whether the combined row of `key` launches as `own` (the product's own row) does.
  const auto launches_as = [&](const KernelRow& own, const KernelKey& key) {
    const KernelRow& combined = select_kernel_row(device, key, builds);
    return own.family == combined.family && own.workgroup_size == combined.workgroup_size && own.tile == combined.tile;
  };
  // matmul_adds that also perform the rms_norm_mul of their result (lowering_add_norm.cpp): the
  // combined row launches as the matmul_add's own row does, and the norm would run the
  // one-subgroup row the combined kernel repeats.
  const auto norm_allowed = [&](TensorId add, TensorId norm) {
    try {
      const KernelRow* add_row = unforced_row(add);
      const KernelRow* norm_row = unforced_row(norm);
      if (add_row == nullptr || norm_row == nullptr || !is_one_subgroup_norm(*norm_row)) return false;
      return launches_as(*add_row, add_norm_key(graph, graph.node(add)));
    } catch (const Error&) {
      return false;
    }
  };
  const AddNormAbsorption add_norm = find_add_norm_absorption(plan_, norm_allowed);
  // One-token matmul_cats that also perform the rope of their result and its writes
  // (lowering_cat_rope.cpp): the combined row launches as the cat's own row does.
  const auto cat_rope_allowed = [&](TensorId cat, TensorId rope) {
    try {
      const KernelRow* cat_row = unforced_row(cat);
      if (cat_row == nullptr || unforced_row(rope) == nullptr) return false;
      return launches_as(*cat_row, cat_rope_key(graph, graph.node(cat)));
    } catch (const Error&) {
      return false;
    }
  };
  const CatRopeAbsorption cat_rope = find_cat_rope_absorption(plan_, absorption, cat_rope_allowed);
  bool carried_barrier = false;  // of an absorbed step: owed to the next dispatch
  for (size_t step_index = 0; step_index < plan_.steps().size(); ++step_index) {
    const Step& step = plan_.steps()[step_index];
    if (absorption.absorbed_by[step_index] >= 0 || add_norm.absorbed_by[step_index] >= 0 ||
        cat_rope.absorbed_by[step_index] >= 0) {
      carried_barrier = carried_barrier || step.barrier_before;
      continue;
    }
    const Node& node = graph.node(step.node);
    const RopeKvWrites& rope_kv = absorption.writes[step_index];
    const std::optional<size_t>& norm = add_norm.norm[step_index];
    const std::optional<size_t>& rope_after = cat_rope.rope[step_index];
    const KernelKey key = rope_kv.any() ? rope_kv_key(node, rope_kv_cache_type(plan_, rope_kv))
                          : norm        ? add_norm_key(graph, node)
                          : rope_after  ? cat_rope_key(graph, node)
                                        : kernel_key(graph, node);
    // A row whose pipeline the driver cannot build (a driver bug, typically in cooperative
    // matrices) is skipped for the next row of the table, with a warning naming the driver,
    // instead of stopping the run.
    // A row that cannot launch this node's shape (RowDoesNotFit) is skipped for this step only.
    std::vector<const KernelRow*> unfit;
    const auto usable = [&cache, &unfit](const KernelRow& r) {
      return !cache.failed(r.variant.shader) && std::find(unfit.begin(), unfit.end(), &r) == unfit.end();
    };
    LoweredStep lowered;
    std::vector<const Pipeline*> step_pipelines;
    for (;;) {
      const KernelRow& row = select_kernel_row(device, key, usable);
      LoweringInput in{plan_, step.node, row, *this, device};
      in.rope_kv = rope_kv.any() ? &rope_kv : nullptr;
      if (norm) in.norm_after = plan_.steps()[*norm].node;
      if (rope_after) {
        in.rope_after = plan_.steps()[*rope_after].node;
        in.rope_kv = &absorption.writes[*rope_after];
      }
      try {
        lowered = lower_step_dispatches(in);
      } catch (const RowDoesNotFit& e) {
        log::debug("{}: trying the next kernel row", e.what());
        unfit.push_back(&row);
        continue;
      }
      step_pipelines.clear();
      try {
        for (const Dispatch& d : lowered.dispatches) step_pipelines.push_back(&cache.get(pipeline_desc(d, device)));
        break;
      } catch (const PipelineCreationError& e) {
        log::warn(
            "{}; driver {} ({}): falling back to the next kernel for {} (VKGRAPH_DISABLE_COOPMAT=1 turns "
            "cooperative matrices off)",
            e.what(), device.driver_name, device.driver_info, kernel_key_string(key));
      }
    }
    for (size_t k = 0; k < lowered.dispatches.size(); ++k) {
      pipelines_.push_back(step_pipelines[k]);
      // A step's later dispatches read what the earlier ones wrote.
      barrier_before_.push_back(k == 0 ? step.barrier_before || carried_barrier : true);
      scratch_base.push_back(scratch_bytes);
      dispatches_.push_back(std::move(lowered.dispatches[k]));
    }
    if (!lowered.dispatches.empty()) carried_barrier = false;
    scratch_bytes += (lowered.scratch_bytes + align - 1) / align * align;
  }
  if (scratch_bytes > 0) {
    scratch_ = context_->memory().allocate(scratch_bytes, "scratch");
    context_->memory().fill_zero(scratch_);  // counters start at zero (lowering_add_norm.cpp)
    for (size_t i = 0; i < dispatches_.size(); ++i) {
      Dispatch& d = dispatches_[i];
      for (size_t b = 0; b < d.bound.size(); ++b) {
        if (d.bound[b].valid()) continue;
        d.buffers[b] = scratch_.range(scratch_base[i] + d.buffers[b].offset, d.buffers[b].size);
      }
    }
  }
  // The cost users notice on a cold start: new pipelines and how long the driver took for them.
  log::info("{} dispatches; {} new pipelines compiled in {:.0f} ms (pipeline cache {})", dispatches_.size(),
            cache.pipeline_count() - pipelines_before, cache.total_compile_ms() - compile_ms_before,
            cache.loaded_from_disk() ? "loaded from " + cache.file().string() : "started empty");
}

void VulkanExecutable::record() {
  const uint32_t regions = options_.profile ? uint32_t(dispatches_.size()) : 0;
  sequence_ = std::make_unique<Sequence>(context_, regions);
  Sequence& seq = *sequence_;
  seq.begin();
  ++records_;
  // Writes of earlier submissions (the KV cache of the previous step, write_storage uploads)
  // must be visible to this replay: a barrier's first scope covers all earlier submissions.
  seq.transfer_barrier();
  seq.barrier();
  for (size_t i = 0; i < dispatches_.size(); ++i) {
    const Dispatch& d = dispatches_[i];
    if (barrier_before_[i] && i > 0) seq.barrier();
    if (options_.profile) seq.begin_region(std::string(d.kernel->variant.shader));
    seq.bind(*pipelines_[i]);
    seq.bind_buffers(d.buffers);
    if (!d.push.empty()) seq.push_constants(d.push.data(), uint32_t(d.push.size()));
    seq.dispatch(d.groups[0], d.groups[1], d.groups[2]);
    if (options_.profile) seq.end_region();
  }
  // Results are read by the host (mapped memory) or by a staging copy after the fence.
  VkMemoryBarrier host{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  host.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  host.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(seq.command_buffer(), VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &host, 0, nullptr, 0,
                       nullptr);
  seq.end();
}

void VulkanExecutable::set_input(TensorId id, std::span<const std::byte> data) {
  const OwnBuffer& own = own_buffer(inputs_, id, "input");
  VKGRAPH_CHECK(data.size() == own.bytes, "set_input '{}': {} bytes given, the tensor has {}",
                plan_.graph().node(id).name, data.size(), own.bytes);
  if (!data.empty()) context_->memory().upload(own.buffer, 0, data);
}

void VulkanExecutable::run() {
  const auto start = std::chrono::steady_clock::now();
  sequence_->submit_and_wait();
  const auto end = std::chrono::steady_clock::now();
  RunHostTime t;
  t.submit_ms = std::chrono::duration<double, std::milli>(sequence_->last_submitted() - start).count();
  t.total_ms = std::chrono::duration<double, std::milli>(end - start).count();
  host_time_ = t;
}

uint64_t VulkanExecutable::bytes_read_estimate() const {
  uint64_t total = 0;
  for (const Dispatch& d : dispatches_) total += d.bytes_read;
  return total;
}

void VulkanExecutable::read_output(TensorId id, std::span<std::byte> out) {
  const OwnBuffer& own = own_buffer(outputs_, id, "output");
  const std::string& name = plan_.graph().node(id).name;
  VKGRAPH_CHECK(out.size() == own.bytes, "read_output '{}': {} bytes asked, the tensor has {}", name, out.size(),
                own.bytes);
  if (own.guard == 0) {
    if (!out.empty()) context_->memory().download(own.buffer, 0, out);
    return;
  }
  std::vector<std::byte> all(own.bytes + 2 * own.guard);
  context_->memory().download(own.buffer, 0, all);
  for (size_t i = 0; i < all.size(); ++i) {
    if (i >= own.guard && i < own.guard + own.bytes) continue;
    if (all[i] != kCanary) {
      const bool before = i < own.guard;
      fail("output '{}': a kernel wrote {} bytes {} its end (guard byte {} overwritten)", name,
           before ? own.guard - i : i - own.guard - own.bytes + 1, before ? "before its start, at" : "past",
           before ? i : i - own.guard - own.bytes);
    }
  }
  std::memcpy(out.data(), all.data() + own.guard, own.bytes);
}

void VulkanExecutable::poke_output(TensorId id, std::ptrdiff_t offset, std::span<const std::byte> data) {
  const OwnBuffer& own = own_buffer(outputs_, id, "output");
  const std::ptrdiff_t start = std::ptrdiff_t(own.guard) + offset;
  VKGRAPH_CHECK(start >= 0 && size_t(start) + data.size() <= own.bytes + 2 * own.guard,
                "poke_output: [{}, +{}) is outside output '{}' and its guards", offset, data.size(),
                plan_.graph().node(id).name);
  context_->memory().upload(own.buffer, size_t(start), data);
}

std::vector<DispatchTiming> VulkanExecutable::timings() const {
  std::vector<DispatchTiming> result;
  if (!options_.profile) return result;
  const std::vector<RegionTiming> regions = sequence_->timings();
  for (size_t i = 0; i < dispatches_.size() && i < regions.size(); ++i) {
    result.push_back({dispatches_[i].node, regions[i].label, regions[i].ms});
  }
  return result;
}

std::optional<double> VulkanExecutable::gpu_run_ms() const {
  if (!options_.profile) return std::nullopt;
  return sequence_->recording_ms();
}

std::string VulkanExecutable::describe_dispatches(bool reasons) const {
  std::string out;
  for (size_t i = 0; i < dispatches_.size(); ++i) {
    const Dispatch& d = dispatches_[i];
    const Node& node = plan_.graph().node(d.node);
    out += fmt::format("{:4} {}{} {} -> {} groups [{}, {}, {}] x {} spec [{}]\n", i, barrier_before_[i] ? "|" : " ",
                       op_name(node.op), node.name, d.kernel->variant.shader, d.groups[0], d.groups[1], d.groups[2],
                       d.kernel->workgroup_size, fmt::join(d.spec_constants, ", "));
    if (reasons) {
      out += fmt::format("       row {} ({}, {}): {}\n", kernel_row_name(*d.kernel), kernel_key_string(d.kernel->key),
                         kernel_family_name(d.kernel->family), d.kernel->why);
    }
    for (size_t b = 0; b < d.bound.size(); ++b) {
      if (!d.bound[b].valid()) {
        out += fmt::format("       binding {}: scratch ({} B; descriptor offset {})\n", b, d.buffers[b].size,
                           d.buffers[b].offset);
        continue;
      }
      const Location& loc = plan_.location(d.bound[b]);
      out += fmt::format("       binding {}: {} ({}+{}, {} B; descriptor offset {} range {})\n", b,
                         plan_.graph().node(d.bound[b]).name, placement_name(loc.placement), loc.offset, loc.bytes,
                         d.buffers[b].offset, d.buffers[b].size);
    }
    out += fmt::format("       reads ~{} B, writes ~{} B\n", d.bytes_read, d.bytes_written);
  }
  return out;
}

size_t VulkanExecutable::device_bytes() const {
  size_t total = arena_ ? arena_.size() : 0;
  if (scratch_) total += scratch_.size();
  for (const auto& [index, own] : inputs_) total += own.buffer.size();
  for (const auto& [index, own] : outputs_) total += own.buffer.size();
  return total;
}

}  // namespace vkgraph::vk
