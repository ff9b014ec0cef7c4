// SHA-256 and SHA-1 come from OpenSSL's libcrypto (the EVP interface), which uses the CPU's SHA
// instructions where there are some: hashing keeps up with any download.

#include "models/hub/content_digest.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "models/hub/hub_error.h"

namespace vkgraph::hub {

struct ContentDigest::State {
  EVP_MD_CTX* ctx = nullptr;
  ~State() { EVP_MD_CTX_free(ctx); }
};

bool is_hex_digest(std::string_view s) {
  if (s.size() != 40 && s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

DigestKind digest_kind_of_etag(std::string_view etag) {
  if (!is_hex_digest(etag)) {
    hub_fail(HubErrorKind::network, "the Hub named a file by '{}', which is neither a SHA-256 nor a Git blob id", etag);
  }
  return etag.size() == 64 ? DigestKind::sha256 : DigestKind::git_blob_sha1;
}

ContentDigest::ContentDigest(DigestKind kind, uint64_t size) : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = kind == DigestKind::sha256 ? EVP_sha256() : EVP_sha1();
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, md, nullptr) != 1) {
    throw Error("OpenSSL could not start a hash");
  }
  if (kind == DigestKind::git_blob_sha1) {
    const std::string header = "blob " + std::to_string(size);
    update(header.c_str(), header.size() + 1);  // with its terminating NUL, as Git hashes it
  }
}

ContentDigest::~ContentDigest() = default;

void ContentDigest::update(const void* data, size_t bytes) {
  if (bytes != 0 && EVP_DigestUpdate(state_->ctx, data, bytes) != 1) throw Error("OpenSSL could not hash");
}

std::string ContentDigest::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(state_->ctx, digest, &length) != 1) throw Error("OpenSSL could not finish a hash");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kDigits[digest[i] >> 4];
    out += kDigits[digest[i] & 15];
  }
  return out;
}

std::string sha256_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open to hash it", path);
  ContentDigest digest(DigestKind::sha256, 0);
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), std::streamsize(buffer.size()));
    digest.update(buffer.data(), size_t(in.gcount()));
  }
  if (in.bad()) fail("{}: read error while hashing", path);
  return digest.hex();
}

}  // namespace vkgraph::hub
