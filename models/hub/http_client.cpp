#include "models/hub/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <mutex>
#include <string_view>

#include "engine/core/error.h"
#include "engine/core/version.h"

namespace vkgraph::hub {
namespace {

// The start of an error answer kept for the message (the Hub's JSON errors are short).
constexpr size_t kErrorBodyLimit = 64 * 1024;

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("libcurl could not be initialised");
  });
}

struct Transfer {
  const HttpRequest& request;
  CURL* curl = nullptr;
  HttpResult result;
  bool started = false;
  bool sink_failed = false;
  bool cancelled = false;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Each answer along a redirect chain starts with its status line: only the last one's headers
// are kept.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t->result.headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    std::string name(trim(line.substr(0, colon)));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    t->result.headers[name] = std::string(trim(line.substr(colon + 1)));
  }
  return size * count;
}

// "bytes 100-199/200" -> 100.
uint64_t content_range_start(const std::map<std::string, std::string>& headers) {
  const auto it = headers.find("content-range");
  if (it == headers.end()) return 0;
  std::string_view v = it->second;
  if (v.starts_with("bytes ")) v.remove_prefix(6);
  uint64_t start = 0;
  std::from_chars(v.data(), v.data() + v.size(), start);
  return start;
}

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    const size_t room = kErrorBodyLimit - std::min(kErrorBodyLimit, t->result.error_body.size());
    t->result.error_body.append(data, std::min(room, bytes));
    return bytes;
  }
  if (!t->started) {
    t->started = true;
    const uint64_t start = status == 206 ? content_range_start(t->result.headers) : 0;
    if (t->request.on_start && !t->request.on_start(status, start)) {
      t->sink_failed = true;
      return 0;  // anything but `bytes` makes curl stop with CURLE_WRITE_ERROR
    }
  }
  if (t->request.on_body && !t->request.on_body(data, bytes)) {
    t->sink_failed = true;
    return 0;
  }
  return bytes;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->request.keep_going && !t->request.keep_going()) {
    t->cancelled = true;
    return 1;
  }
  return 0;
}

HttpResult::Outcome classify(CURLcode code, const Transfer& t) {
  if (t.cancelled) return HttpResult::Outcome::cancelled;
  if (t.sink_failed) return HttpResult::Outcome::sink_failed;
  switch (code) {
    case CURLE_OK:
      return HttpResult::Outcome::complete;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_TOO_MANY_REDIRECTS:
      return HttpResult::Outcome::unreachable;
    default:
      // A reset, a close before Content-Length was reached, a stall: what arrived is good,
      // and the rest can be asked for again.
      return HttpResult::Outcome::broken_off;
  }
}

struct HeaderList {
  curl_slist* list = nullptr;
  ~HeaderList() { curl_slist_free_all(list); }
};

}  // namespace

std::string user_agent() { return std::string("vkgraph/") + version(); }

std::string url_encode_path(const std::string& path) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : path) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out += char(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

HttpResult http_get(const HttpRequest& request) {
  init_curl_once();
  Transfer t{request};
  t.curl = curl_easy_init();
  if (t.curl == nullptr) throw Error("libcurl could not create a transfer");
  HeaderList headers;
  for (const std::string& h : request.headers) headers.list = curl_slist_append(headers.list, h.c_str());
  char error[CURL_ERROR_SIZE] = {0};
  const std::string range = std::to_string(request.range_start) + "-";
  const std::string agent = user_agent();

  curl_easy_setopt(t.curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(t.curl, CURLOPT_HTTPHEADER, headers.list);
  curl_easy_setopt(t.curl, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(t.curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(t.curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from name lookups in a threaded program
  curl_easy_setopt(t.curl, CURLOPT_FOLLOWLOCATION, 1L);
  // 10: a Hub download takes one or two hops (the resolve URL, then a CDN).
  curl_easy_setopt(t.curl, CURLOPT_MAXREDIRS, 10L);
#if LIBCURL_VERSION_NUM >= 0x075500  // 7.85 replaced the bit masks with strings
  curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(t.curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(t.curl, CURLOPT_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
  curl_easy_setopt(t.curl, CURLOPT_REDIR_PROTOCOLS, long(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  // 30 s to connect and 60 s without a single byte: a dead network or a stalled server ends the
  // attempt (and the download resumes from there) instead of hanging; a slow link still works.
  curl_easy_setopt(t.curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(t.curl, CURLOPT_LOW_SPEED_TIME, 60L);
  if (request.range_start > 0) curl_easy_setopt(t.curl, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(t.curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(t.curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(t.curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(t.curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(t.curl, CURLOPT_NOPROGRESS, 0L);

  const CURLcode code = curl_easy_perform(t.curl);
  curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &t.result.status);
  t.result.outcome = classify(code, t);
  if (code != CURLE_OK) t.result.error = error[0] != '\0' ? std::string(error) : curl_easy_strerror(code);
  curl_easy_cleanup(t.curl);
  return std::move(t.result);
}

}  // namespace vkgraph::hub
