#pragma once
// HTTP GET over libcurl, the only file of the project that includes curl. Redirects are
// followed (the Hub sends file downloads to a CDN); an Authorization header is sent only to the
// host it was given for, never along a redirect to another host (curl's rule). Proxies are
// taken from the usual variables (https_proxy, no_proxy, ...), as curl does.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace vkgraph::hub {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  uint64_t range_start = 0;          // > 0: ask for the bytes from there on (Range: bytes=N-)
  // Called once, before the first byte of a 2xx answer's body, with the status and the offset
  // the body starts at (the Content-Range start of a 206, else 0); false stops the transfer.
  std::function<bool(long status, uint64_t start)> on_start;
  // Receives the body of a 2xx answer, chunk by chunk; false stops (a write failed).
  std::function<bool(const char* data, size_t bytes)> on_body;
  // Called at least once a second while the transfer runs; false cancels it.
  std::function<bool()> keep_going;
};

struct HttpResult {
  enum class Outcome {
    complete,     // the whole answer arrived (any status: see `status`)
    broken_off,   // the connection dropped or stalled part-way; what arrived was delivered
    unreachable,  // no connection at all: name lookup, connect, TLS
    cancelled,    // keep_going said stop
    sink_failed,  // on_start or on_body said stop
  };
  Outcome outcome = Outcome::complete;
  long status = 0;
  std::string error;                           // curl's words for what failed
  std::map<std::string, std::string> headers;  // of the final answer, names in lower case
  std::string error_body;                      // the start of a non-2xx answer's body
};

HttpResult http_get(const HttpRequest& request);

// Percent-encodes everything but unreserved characters and '/' (a repository path in a URL).
std::string url_encode_path(const std::string& path);

// "vkgraph/<version>", sent as the User-Agent.
std::string user_agent();

}  // namespace vkgraph::hub
