#include "engine/backend/vulkan/instance.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "engine/backend/vulkan/vk_check.h"
#include "engine/core/error.h"
#include "engine/core/log.h"

namespace vkgraph::vk {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

std::atomic<uint64_t> g_validation_count{0};
std::mutex g_last_message_mutex;
std::string g_last_message;

VKAPI_ATTR VkBool32 VKAPI_CALL on_debug_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                                const VkDebugUtilsMessengerCallbackDataEXT* data, void* /*user*/) {
  // The messenger is created for warnings and errors only, so every call is one to count.
  const char* kind = (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) ? "error" : "warning";
  const char* id = data->pMessageIdName ? data->pMessageIdName : "";
  const char* text = data->pMessage ? data->pMessage : "";
  std::string message = fmt::format("vulkan validation {} [{}]: {}", kind, id, text);
  g_validation_count.fetch_add(1);
  {
    std::lock_guard lock(g_last_message_mutex);
    g_last_message = message;
  }
  log::error("{}", message);
  return VK_FALSE;  // never abort the call: we report, the test fails on the count
}

VkDebugUtilsMessengerCreateInfoEXT messenger_info() {
  VkDebugUtilsMessengerCreateInfoEXT info{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  info.messageSeverity =
      VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_debug_message;
  return info;
}

bool layer_available(const char* name) {
  uint32_t count = 0;
  vkEnumerateInstanceLayerProperties(&count, nullptr);
  std::vector<VkLayerProperties> layers(count);
  vkEnumerateInstanceLayerProperties(&count, layers.data());
  for (const VkLayerProperties& layer : layers) {
    if (std::strcmp(layer.layerName, name) == 0) return true;
  }
  return false;
}

std::vector<std::string> available_extensions(const char* layer) {
  uint32_t count = 0;
  vkEnumerateInstanceExtensionProperties(layer, &count, nullptr);
  std::vector<VkExtensionProperties> props(count);
  vkEnumerateInstanceExtensionProperties(layer, &count, props.data());
  std::vector<std::string> names;
  for (const VkExtensionProperties& p : props) names.emplace_back(p.extensionName);
  return names;
}

bool contains(const std::vector<std::string>& list, const char* name) {
  for (const std::string& s : list) {
    if (s == name) return true;
  }
  return false;
}

}  // namespace

bool validation_requested_by_env() {
  const char* env = std::getenv("VKGRAPH_VALIDATION");
  return env != nullptr && env[0] != '\0' && std::strcmp(env, "0") != 0;
}

uint64_t validation_error_count() { return g_validation_count.load(); }

std::string last_validation_message() {
  std::lock_guard lock(g_last_message_mutex);
  return g_last_message;
}

Instance::Instance(const InstanceOptions& options) {
  // The loader's version caps what we may ask for; 1.2 is the floor of the engine (driver
  // properties, 8/16-bit storage and float16 features are core there), 1.3 the most we use.
  uint32_t loader_version = VK_API_VERSION_1_0;
  auto enumerate_version =
      reinterpret_cast<PFN_vkEnumerateInstanceVersion>(vkGetInstanceProcAddr(nullptr, "vkEnumerateInstanceVersion"));
  if (enumerate_version) enumerate_version(&loader_version);
  VKGRAPH_CHECK(loader_version >= VK_API_VERSION_1_2,
                "the Vulkan loader supports API {}; vkgraph needs Vulkan 1.2 or newer",
                fmt::format("{}.{}", VK_API_VERSION_MAJOR(loader_version), VK_API_VERSION_MINOR(loader_version)));
  api_version_ = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;

  validation_ = options.validation || validation_requested_by_env();
  std::vector<const char*> layers;
  if (validation_) {
    VKGRAPH_CHECK(layer_available(kValidationLayer),
                  "validation was asked for (VKGRAPH_VALIDATION=1 or --validation) but {} is not installed "
                  "(Debian: apt install vulkan-validationlayers)",
                  kValidationLayer);
    layers.push_back(kValidationLayer);
  }

  std::vector<std::string> available = available_extensions(nullptr);
  if (validation_) {
    for (std::string& e : available_extensions(kValidationLayer)) available.push_back(std::move(e));
  }
  std::vector<const char*> enable;
  VkInstanceCreateFlags flags = 0;
  // Lists devices behind a portability layer (MoltenVK) too; they must be asked for explicitly.
  if (contains(available, VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    enable.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  if (validation_) {
    VKGRAPH_CHECK(contains(available, VK_EXT_DEBUG_UTILS_EXTENSION_NAME),
                  "validation needs the {} instance extension, which this loader lacks",
                  VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    enable.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  for (const char* e : enable) extensions_.emplace_back(e);

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "vkgraph";
  app.applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
  app.pEngineName = "vkgraph";
  app.engineVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
  app.apiVersion = api_version_;

  // Chained into the create info so messages from vkCreateInstance/vkDestroyInstance count too.
  VkDebugUtilsMessengerCreateInfoEXT debug_info = messenger_info();
  // VKGRAPH_VALIDATION=sync adds synchronization validation (missing or wrong barriers); it is
  // slow, so it is not the default of the test runs.
  const VkValidationFeatureEnableEXT sync_enable = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync_enable;
  const char* env = std::getenv("VKGRAPH_VALIDATION");
  const bool sync = validation_ && env && std::strcmp(env, "sync") == 0;
  features.pNext = &debug_info;
  VkInstanceCreateInfo info{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  info.pNext = sync          ? static_cast<const void*>(&features)
               : validation_ ? static_cast<const void*>(&debug_info)
                             : nullptr;
  info.flags = flags;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(enable.size());
  info.ppEnabledExtensionNames = enable.data();
  VkResult result = vkCreateInstance(&info, nullptr, &instance_);
  VKGRAPH_CHECK(result == VK_SUCCESS, "vkCreateInstance failed: {} (is a Vulkan driver installed?)",
                result_name(result));

  if (validation_) {
    auto create = get<PFN_vkCreateDebugUtilsMessengerEXT>("vkCreateDebugUtilsMessengerEXT");
    VKGRAPH_CHECK(create != nullptr, "vkCreateDebugUtilsMessengerEXT is missing although {} is enabled",
                  VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    vk_check(create(instance_, &debug_info, nullptr, &messenger_), "vkCreateDebugUtilsMessengerEXT");
  }
}

Instance::~Instance() {
  if (messenger_ != VK_NULL_HANDLE) {
    auto destroy = get<PFN_vkDestroyDebugUtilsMessengerEXT>("vkDestroyDebugUtilsMessengerEXT");
    if (destroy) destroy(instance_, messenger_, nullptr);
  }
  if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

bool Instance::has_extension(const char* name) const { return contains(extensions_, name); }

std::vector<VkPhysicalDevice> Instance::physical_devices() const {
  uint32_t count = 0;
  vk_check(vkEnumeratePhysicalDevices(instance_, &count, nullptr), "vkEnumeratePhysicalDevices");
  std::vector<VkPhysicalDevice> devices(count);
  vk_check(vkEnumeratePhysicalDevices(instance_, &count, devices.data()), "vkEnumeratePhysicalDevices");
  devices.resize(count);
  return devices;
}

PFN_vkVoidFunction Instance::proc(const char* name) const { return vkGetInstanceProcAddr(instance_, name); }

}  // namespace vkgraph::vk
