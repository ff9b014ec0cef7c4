#include "models/serving/block_pool.h"

#include <algorithm>

#include "engine/core/error.h"

namespace vkgraph::serving {
namespace {

// splitmix64's finalizer: every input bit reaches every output bit.
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

}  // namespace

BlockHash chain_hash(const BlockHash& parent, std::span<const int32_t> tokens) {
  // Two independent chains (different seeds and step constants) over the parent and the tokens;
  // the token count goes in too, so a short last block never equals a longer one.
  uint64_t a = mix(parent.a ^ 0x243F6A8885A308D3ull);
  uint64_t b = mix(parent.b ^ 0x13198A2E03707344ull);
  for (int32_t t : tokens) {
    a = mix(a ^ (uint64_t(uint32_t(t)) + 0x9E3779B97F4A7C15ull));
    b = mix((b + uint64_t(uint32_t(t))) * 0xD6E8FEB86659FD93ull);
  }
  return {mix(a ^ tokens.size()), mix(b + tokens.size())};
}

BlockPool::BlockPool(int64_t n_blocks, int64_t block_size)
    : block_size_(block_size), refs_(size_t(n_blocks), 0), published_(size_t(n_blocks)), lru_pos_(size_t(n_blocks)) {
  VKGRAPH_CHECK(n_blocks > 0 && block_size > 0, "a KV block pool needs blocks ({}) of at least one slot ({})", n_blocks,
                block_size);
  free_.reserve(size_t(n_blocks));
  // A stack: block 0 is given out first.
  for (int64_t b = n_blocks - 1; b >= 0; --b) free_.push_back(int32_t(b));
}

void BlockPool::check_block(int32_t block, const char* what) const {
  VKGRAPH_CHECK(block >= 0 && block < n_blocks(), "internal: {} of block {}, outside the pool of {}", what, block,
                n_blocks());
}

void BlockPool::forget(int32_t block) {
  std::optional<Published>& p = published_[size_t(block)];
  if (!p) return;
  const auto it = by_hash_.find(p->hash);
  if (it != by_hash_.end() && it->second == block) by_hash_.erase(it);
  p.reset();
}

std::optional<int32_t> BlockPool::allocate() {
  int32_t block = -1;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    block = lru_.front();
    lru_.pop_front();
    forget(block);  // its content is about to be overwritten
  } else {
    return std::nullopt;
  }
  refs_[size_t(block)] = 1;
  ++held_;
  return block;
}

void BlockPool::retain(int32_t block) {
  check_block(block, "retain");
  VKGRAPH_CHECK(refs_[size_t(block)] > 0, "internal: retain of block {}, which nobody holds", block);
  ++refs_[size_t(block)];
}

void BlockPool::release(int32_t block) {
  check_block(block, "release");
  int32_t& refs = refs_[size_t(block)];
  VKGRAPH_CHECK(refs > 0, "internal: release of block {}, which nobody holds", block);
  if (--refs > 0) return;
  --held_;
  if (published_[size_t(block)]) {
    lru_pos_[size_t(block)] = lru_.insert(lru_.end(), block);
  } else {
    free_.push_back(block);
  }
}

std::optional<int32_t> BlockPool::lookup(const BlockHash& hash, std::span<const int32_t> tokens) {
  const auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  const int32_t block = it->second;
  const Published& p = *published_[size_t(block)];
  if (!std::equal(p.tokens.begin(), p.tokens.end(), tokens.begin(), tokens.end())) return std::nullopt;
  if (refs_[size_t(block)] == 0) {
    lru_.erase(lru_pos_[size_t(block)]);
    ++held_;
  }
  ++refs_[size_t(block)];
  return block;
}

void BlockPool::publish(int32_t block, const BlockHash& hash, std::span<const int32_t> tokens) {
  check_block(block, "publish");
  VKGRAPH_CHECK(refs_[size_t(block)] > 0, "internal: publish of block {}, which nobody holds", block);
  VKGRAPH_CHECK(int64_t(tokens.size()) == block_size_, "internal: publish of block {} with {} tokens, not {}", block,
                tokens.size(), block_size_);
  if (published_[size_t(block)]) return;  // already published (under this hash: its content is fixed)
  if (by_hash_.count(hash) != 0) return;  // another block holds this content
  published_[size_t(block)] = Published{hash, std::vector<int32_t>(tokens.begin(), tokens.end())};
  by_hash_.emplace(hash, block);
}

}  // namespace vkgraph::serving
