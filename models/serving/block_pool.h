#pragma once
// The KV cache's blocks on the host side: which are free, who holds each one (reference counts),
// and the prefix cache that lets sequences share blocks with identical token content.
//
// A block holds the keys and values of `block_size` consecutive positions of one sequence. A
// full block's content is a function of every token up to its end (its own tokens and all its
// predecessors'), so it is named by a chained hash over them (BlockHash): two sequences whose
// first k blocks hold the same tokens can read the same k blocks. Only full blocks are shared,
// and a shared block is never written again (a sequence writes only past its shared prefix).
//
// States of a block:
//  - free: nobody holds it and its content is worthless;
//  - held: reference count > 0 (one per sequence whose table names it);
//  - cached: nobody holds it but its content is published under its hash. Cached blocks are
//    kept in least-recently-released order and given out again only when no free block is left
//    (the oldest first), so a prompt seen a while ago can still be found.
// Nothing here touches the device: the engine writes the blocks, this only keeps the books.

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

namespace vkgraph::serving {

// 128 bits: a wrong prefix match needs two different token prefixes with equal hashes in both
// halves (and the block's own tokens equal too, which lookup also checks).
struct BlockHash {
  uint64_t a = 0, b = 0;
  friend bool operator==(const BlockHash&, const BlockHash&) = default;
};

// The hash of a block holding `tokens` whose predecessor blocks hash to `parent` (the first
// block's parent is the default BlockHash{}).
BlockHash chain_hash(const BlockHash& parent, std::span<const int32_t> tokens);

class BlockPool {
 public:
  // Blocks 0 .. n_blocks - 1, all free.
  BlockPool(int64_t n_blocks, int64_t block_size);

  int64_t block_size() const { return block_size_; }
  int64_t n_blocks() const { return int64_t(refs_.size()); }
  int64_t held_count() const { return held_; }
  // Blocks that allocate() can give out: free ones and cached ones.
  int64_t available() const { return int64_t(free_.size() + lru_.size()); }
  int64_t cached_count() const { return int64_t(lru_.size()); }

  // A block for one holder: a free one, else the least recently released cached one (its hash
  // is forgotten). nullopt when every block is held.
  std::optional<int32_t> allocate();
  // Another holder of a held block.
  void retain(int32_t block);
  // One holder fewer; at zero the block becomes cached (if published) or free.
  void release(int32_t block);

  // The prefix cache. lookup: the published block with this hash and these tokens, now held
  // once more (taken out of the cached list if nobody held it); nullopt when there is none.
  std::optional<int32_t> lookup(const BlockHash& hash, std::span<const int32_t> tokens);
  // Publishes a held, full block under `hash`. A hash already published keeps its block (the
  // caller's block stays private and is freed normally); republishing the same block is a no-op.
  void publish(int32_t block, const BlockHash& hash, std::span<const int32_t> tokens);

 private:
  struct HashKey {
    size_t operator()(const BlockHash& h) const { return size_t(h.a ^ (h.b * 0x9E3779B97F4A7C15ull)); }
  };
  struct Published {
    BlockHash hash;
    std::vector<int32_t> tokens;
  };
  void check_block(int32_t block, const char* what) const;
  void forget(int32_t block);  // drops its published entry, if any

  int64_t block_size_;
  int64_t held_ = 0;
  std::vector<int32_t> refs_;                          // per block
  std::vector<std::optional<Published>> published_;    // per block
  std::vector<std::list<int32_t>::iterator> lru_pos_;  // per cached block: its place in lru_
  std::vector<int32_t> free_;                          // a stack: the most recently freed first
  std::list<int32_t> lru_;                             // cached blocks, least recently released first
  std::unordered_map<BlockHash, int32_t, HashKey> by_hash_;
};

}  // namespace vkgraph::serving
