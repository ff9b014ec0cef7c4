#pragma once
// The errors the server answers with, in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// `param` names the request field at fault (null when none), so a client can point at it.

#include <nlohmann/json.hpp>

#include <exception>
#include <string>

namespace vkgraph::serve {

struct ApiError : std::exception {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;               // "" is null
  std::string code;                // "" is null
  double retry_after_seconds = 0;  // > 0: sent as Retry-After (429, 503)

  ApiError(int status_, std::string message_, std::string type_, std::string param_ = {}, std::string code_ = {})
      : status(status_),
        message(std::move(message_)),
        type(std::move(type_)),
        param(std::move(param_)),
        code(std::move(code_)) {}
  const char* what() const noexcept override { return message.c_str(); }
};

// 400 about one field: invalid_request_error with `param` and a code ("invalid_type",
// "invalid_value", "missing_required_parameter", "unsupported_parameter", ...).
ApiError invalid_field(const std::string& param, const std::string& message, const std::string& code);
// 400 about the body as a whole (not JSON, not an object, not UTF-8).
ApiError invalid_body(const std::string& message, const std::string& code = "invalid_json");

nlohmann::json error_json(const ApiError& error);

}  // namespace vkgraph::serve
