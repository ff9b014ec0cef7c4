// Names and the person-readable report of a DeviceInfo (`vkgraph devices`).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/backend/vulkan/device_info.h"

namespace vkgraph::vk {

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
      return "integrated-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
      return "discrete-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
      return "virtual-gpu";
    case VK_PHYSICAL_DEVICE_TYPE_CPU:
      return "cpu";
    default:
      return "other";
  }
}

const char* component_type_name(VkComponentTypeKHR type) {
  switch (type) {
    case VK_COMPONENT_TYPE_FLOAT16_KHR:
      return "f16";
    case VK_COMPONENT_TYPE_FLOAT32_KHR:
      return "f32";
    case VK_COMPONENT_TYPE_FLOAT64_KHR:
      return "f64";
    case VK_COMPONENT_TYPE_SINT8_KHR:
      return "i8";
    case VK_COMPONENT_TYPE_SINT16_KHR:
      return "i16";
    case VK_COMPONENT_TYPE_SINT32_KHR:
      return "i32";
    case VK_COMPONENT_TYPE_SINT64_KHR:
      return "i64";
    case VK_COMPONENT_TYPE_UINT8_KHR:
      return "u8";
    case VK_COMPONENT_TYPE_UINT16_KHR:
      return "u16";
    case VK_COMPONENT_TYPE_UINT32_KHR:
      return "u32";
    case VK_COMPONENT_TYPE_UINT64_KHR:
      return "u64";
    case VK_COMPONENT_TYPE_SINT8_PACKED_NV:
      return "i8-packed";
    case VK_COMPONENT_TYPE_UINT8_PACKED_NV:
      return "u8-packed";
    case VK_COMPONENT_TYPE_FLOAT_E4M3_NV:
      return "e4m3";
    case VK_COMPONENT_TYPE_FLOAT_E5M2_NV:
      return "e5m2";
    default:
      return "unknown";
  }
}

const char* scope_name(VkScopeKHR scope) {
  switch (scope) {
    case VK_SCOPE_DEVICE_KHR:
      return "device";
    case VK_SCOPE_WORKGROUP_KHR:
      return "workgroup";
    case VK_SCOPE_SUBGROUP_KHR:
      return "subgroup";
    case VK_SCOPE_QUEUE_FAMILY_KHR:
      return "queue-family";
    default:
      return "unknown";
  }
}

std::vector<std::string> subgroup_op_names(VkSubgroupFeatureFlags ops) {
  static constexpr struct {
    VkSubgroupFeatureFlagBits bit;
    const char* name;
  } table[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},
      {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"},
      {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle-relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"},
      {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"},
      {VK_SUBGROUP_FEATURE_ROTATE_BIT, "rotate"},
      {VK_SUBGROUP_FEATURE_ROTATE_CLUSTERED_BIT, "rotate-clustered"},
  };
  std::vector<std::string> names;
  for (const auto& row : table) {
    if (ops & row.bit) names.emplace_back(row.name);
  }
  return names;
}

std::string api_version_string(uint32_t version) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version),
                     VK_API_VERSION_PATCH(version));
}

std::string vendor_name_of(uint32_t vendor_id) {
  switch (vendor_id) {
    case 0x1002:
      return "AMD";
    case 0x1010:
      return "ImgTec";
    case 0x10DE:
      return "NVIDIA";
    case 0x13B5:
      return "ARM";
    case 0x5143:
      return "Qualcomm";
    case 0x8086:
      return "Intel";
    case 0x106B:
      return "Apple";
    case 0x14E4:
      return "Broadcom";
    case 0x1AE0:
      return "Google";
    case 0x19E5:
      return "Huawei";
    case VK_VENDOR_ID_MESA:
      return "Mesa";
    case VK_VENDOR_ID_POCL:
      return "PoCL";
    default:
      return fmt::format("0x{:04x}", vendor_id);
  }
}

std::string decode_driver_version(uint32_t vendor_id, VkDriverId driver, uint32_t raw) {
  // NVIDIA packs 10.8.8.6 bits (e.g. 550.54.14.0).
  if (vendor_id == 0x10DE) {
    return fmt::format("{}.{}.{}.{}", (raw >> 22) & 0x3ff, (raw >> 14) & 0xff, (raw >> 6) & 0xff, raw & 0x3f);
  }
  // Intel's Windows driver packs 18.14 bits (e.g. 101.4502); Mesa's ANV uses the Vulkan layout.
  if (vendor_id == 0x8086 && driver == VK_DRIVER_ID_INTEL_PROPRIETARY_WINDOWS) {
    return fmt::format("{}.{}", raw >> 14, raw & 0x3fff);
  }
  return api_version_string(raw);
}

std::string decode_driver_version(uint32_t vendor_id, uint32_t raw) {
  return decode_driver_version(vendor_id, VkDriverId(0), raw);
}

std::string format_bytes(uint64_t bytes) {
  constexpr uint64_t kib = 1024, mib = kib * 1024, gib = mib * 1024;
  auto scaled = [bytes](uint64_t unit, const char* suffix) {
    if (bytes % unit == 0) return fmt::format("{} {}", bytes / unit, suffix);
    return fmt::format("{:.1f} {}", static_cast<double>(bytes) / static_cast<double>(unit), suffix);
  };
  if (bytes >= gib) return scaled(gib, "GiB");
  if (bytes >= mib) return scaled(mib, "MiB");
  if (bytes >= kib) return scaled(kib, "KiB");
  return fmt::format("{} B", bytes);
}

namespace {

const char* yes_no(bool b) { return b ? "yes" : "no"; }

std::string memory_flags(VkMemoryPropertyFlags flags) {
  std::string s;
  auto add = [&s](const char* name) {
    if (!s.empty()) s += "|";
    s += name;
  };
  if (flags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT) add("device-local");
  if (flags & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) add("host-visible");
  if (flags & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) add("host-coherent");
  if (flags & VK_MEMORY_PROPERTY_HOST_CACHED_BIT) add("host-cached");
  if (flags & VK_MEMORY_PROPERTY_LAZILY_ALLOCATED_BIT) add("lazily-allocated");
  if (flags & VK_MEMORY_PROPERTY_PROTECTED_BIT) add("protected");
  if (s.empty()) s = "none";
  return s;
}

}  // namespace

std::string describe(const DeviceInfo& d) {
  std::string out;
  auto line = [&out](std::string_view key, const std::string& value) {
    out += fmt::format("  {:<28}{}\n", fmt::format("{}:", key), value);
  };
  out += fmt::format("device {}: {}\n", d.index, d.name);
  line("type", device_type_name(d.type));
  line("vendor", fmt::format("{} (0x{:04x}), device id 0x{:04x}", d.vendor_name, d.vendor_id, d.device_id));
  line("driver",
       fmt::format("{} {} ({})", d.driver_name.empty() ? "unknown" : d.driver_name, d.driver_version, d.driver_info));
  line("vulkan api", api_version_string(d.api_version));
  if (d.has_pci_bus_info) line("pci bus", d.pci_bus_id);
  line("subgroup size", d.subgroup_size_control
                            ? fmt::format("{} (control: {}..{}, full subgroups: {})", d.subgroup_size,
                                          d.min_subgroup_size, d.max_subgroup_size, yes_no(d.compute_full_subgroups))
                            : fmt::format("{} (no size control)", d.subgroup_size));
  line("subgroup ops", d.subgroup_ops_in_compute ? fmt::format("{}", fmt::join(subgroup_op_names(d.subgroup_ops), " "))
                                                 : std::string("none in compute"));
  line("shared memory", format_bytes(d.max_shared_memory));
  line("max workgroup size",
       fmt::format("{} x {} x {} ({} invocations)", d.max_workgroup_size[0], d.max_workgroup_size[1],
                   d.max_workgroup_size[2], d.max_workgroup_invocations));
  line("max workgroup count",
       fmt::format("{} x {} x {}", d.max_workgroup_count[0], d.max_workgroup_count[1], d.max_workgroup_count[2]));
  line("maxStorageBufferRange", format_bytes(d.max_storage_buffer_range));
  line("maxMemoryAllocationSize", format_bytes(d.max_memory_allocation_size));
  if (d.max_buffer_size) line("maxBufferSize", format_bytes(d.max_buffer_size));
  line("push constants", format_bytes(d.max_push_constants_size));
  line("storage offset alignment", fmt::format("{} B", d.min_storage_buffer_offset_alignment));
  for (size_t i = 0; i < d.memory_heaps.size(); ++i) {
    line(fmt::format("memory heap {}", i), fmt::format("{}{}", format_bytes(d.memory_heaps[i].size),
                                                       d.memory_heaps[i].device_local ? " device-local" : ""));
  }
  for (size_t i = 0; i < d.memory_types.size(); ++i) {
    line(fmt::format("memory type {}", i),
         fmt::format("heap {}, {}", d.memory_types[i].heap, memory_flags(d.memory_types[i].flags)));
  }
  line("fp16 arithmetic", yes_no(d.shader_float16));
  line("int8 arithmetic", yes_no(d.shader_int8));
  line("8-bit storage", yes_no(d.storage_buffer_8bit));
  line("16-bit storage", yes_no(d.storage_buffer_16bit));
  line("integer dot product",
       d.integer_dot_product ? fmt::format("yes (4x8-bit accelerated: {})", yes_no(d.int8_dot_accelerated)) : "no");
  if (d.has_cooperative_matrix || d.coopmat_emulated) {
    line("cooperative matrix",
         d.coopmat_emulated ? fmt::format("emulated (VKGRAPH_EMULATE_COOPMAT), {} shapes", d.coopmat_shapes.size())
                            : fmt::format("yes, {} shapes", d.coopmat_shapes.size()));
    for (const CoopMatShape& s : d.coopmat_shapes) {
      out += fmt::format("    {}x{}x{} A {} B {} C {} -> {} ({}{})\n", s.m, s.n, s.k, component_type_name(s.a),
                         component_type_name(s.b), component_type_name(s.c), component_type_name(s.result),
                         scope_name(s.scope), s.saturating_accumulation ? ", saturating" : "");
    }
  } else {
    line("cooperative matrix",
         d.has_extension(VK_KHR_COOPERATIVE_MATRIX_EXTENSION_NAME) ? "extension without feature" : "no");
  }
  line("timestamps", d.timestamps_usable() ? fmt::format("yes ({} valid bits, period {} ns, compute+graphics: {})",
                                                         d.timestamp_valid_bits, d.timestamp_period_ns,
                                                         yes_no(d.timestamp_compute_and_graphics))
                                           : std::string("no"));
  line("compute queue family", fmt::format("{}", d.compute_queue_family));
  return out;
}

}  // namespace vkgraph::vk
