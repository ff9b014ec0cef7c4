#pragma once
// The hash a file on the Hub is named by, computed as bytes arrive, so a download is checked
// without reading it again. The Hub names a file by its ETag: the SHA-256 of the content for
// files kept in Git LFS (every GGUF), the Git blob id for small files kept in Git itself
// (SHA-1 of "blob <size>\0" followed by the content). The cache names blobs the same way.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace vkgraph::hub {

enum class DigestKind { sha256, git_blob_sha1 };

// sha256 for 64 hex digits, git_blob_sha1 for 40; anything else throws a HubError (network:
// the Hub named a file by something that is no content hash).
DigestKind digest_kind_of_etag(std::string_view etag);

// Lower-case hex of 40 or 64 digits.
bool is_hex_digest(std::string_view s);

class ContentDigest {
 public:
  // `size`: the content's length, which the Git blob header states up front.
  ContentDigest(DigestKind kind, uint64_t size);
  ~ContentDigest();
  ContentDigest(const ContentDigest&) = delete;
  ContentDigest& operator=(const ContentDigest&) = delete;

  void update(const void* data, size_t bytes);
  // Finishes and returns the lower-case hex digest; call once.
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The SHA-256 of a whole file, as lower-case hex (for tests and for checking a cached blob).
std::string sha256_file(const std::string& path);

}  // namespace vkgraph::hub
