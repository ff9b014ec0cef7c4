#include "cli/serve/api_error.h"

namespace vkgraph::serve {

ApiError invalid_field(const std::string& param, const std::string& message, const std::string& code) {
  return ApiError(400, message, "invalid_request_error", param, code);
}

ApiError invalid_body(const std::string& message, const std::string& code) {
  return ApiError(400, message, "invalid_request_error", {}, code);
}

nlohmann::json error_json(const ApiError& error) {
  const auto nullable = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error",
           {{"message", error.message},
            {"type", error.type},
            {"param", nullable(error.param)},
            {"code", nullable(error.code)}}}};
}

}  // namespace vkgraph::serve
