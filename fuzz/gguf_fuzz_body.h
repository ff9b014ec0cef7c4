#pragma once
// The GGUF target's body: the reader, the block decoders on each tensor's first row, and
// everything that reads a file's metadata after it (the hyper-parameters, the tokenizer, the
// chat template, the LoRA adapter format). Any input must either open or throw a
// vkgraph::Error; a crash, a sanitizer report, a leak or a violated property is a finding.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/quant.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/memory_file.h"
#include "models/arch/hparams.h"
#include "models/chat/chat_template.h"
#include "models/gguf/gguf_reader.h"
#include "models/lora/lora_file.h"
#include "models/tokenizer/tokenizer.h"

namespace vkgraph::fuzz {

namespace detail {

// Reads every value through the typed accessors, the way loaders do; type mismatches throw.
inline void touch_metadata(const gguf::GgufFile& file) {
  for (const gguf::MetadataEntry& entry : file.metadata()) {
    require(file.find(entry.key) != nullptr, "every metadata key is found by name");
    try {
      (void)file.get_u64(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_i32(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_f32(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_bool(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_string(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_string_array(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_i32_array(entry.key);
    } catch (const Error&) {
    }
    try {
      (void)file.get_f32_array(entry.key);
    } catch (const Error&) {
    }
  }
}

// Every tensor's bytes must lie inside the mapping: reading the first and last byte under ASan
// proves it.
inline void touch_tensors(const gguf::GgufFile& file) {
  unsigned sum = 0;
  for (const gguf::TensorInfo& t : file.tensors()) {
    require(file.find_tensor(t.name) == &t, "every tensor is found by name");
    const auto bytes = file.data(t);
    require(bytes.size() == t.bytes, "data() spans the tensor's byte size");
    require(t.offset + t.bytes <= file.file_size(), "tensor data lies inside the file");
    if (!bytes.empty()) sum += unsigned(bytes.front()) + unsigned(bytes.back());
  }
  volatile unsigned sink = sum;
  (void)sink;
}

// The first row of every weight matrix through its type's decoder: any bytes decode to floats
// (NaN and infinity included) without reading outside the row.
inline void decode_first_rows(const gguf::GgufFile& file) {
  float sum = 0.0f;
  for (const gguf::TensorInfo& t : file.tensors()) {
    const auto cols = size_t(t.shape.back());
    // A decoder's path does not depend on the row's length beyond whole blocks, so longer rows
    // add only memory: 64K columns (256 KiB of floats) keep the fuzzer's resident memory, which
    // the sanitizer's allocator does not return to the system, far from libFuzzer's 2 GiB limit
    // (with 1M columns it reached that limit after 85,000 inputs).
    if (cols > (size_t(1) << 16)) continue;
    const size_t bytes = row_bytes(t.type, cols);
    require(bytes <= t.bytes, "a tensor holds at least one whole row");
    std::vector<float> row(cols);
    dequantize_row(t.type, file.data(t).data(), row.data(), cols);
    sum += row.front() + row.back();
  }
  volatile float sink = sum;
  (void)sink;
}

}  // namespace detail

inline void gguf_fuzz_one(const uint8_t* data, size_t size) {
  MemoryFile memory(data, size);
  try {
    const gguf::GgufFile file = gguf::GgufFile::open(memory.path());
    detail::touch_metadata(file);
    detail::touch_tensors(file);
    detail::decode_first_rows(file);
    try {
      (void)models::read_hparams(file, memory.path());
    } catch (const Error&) {
    }
    try {
      const Tokenizer tok = Tokenizer::from_gguf(file);
      const std::vector<int32_t> ids = tok.encode("Hello world <|im_start|> 12345", tok.add_bos(), true);
      for (int32_t id : ids) require(id >= 0 && size_t(id) < tok.vocab_size(), "token ids lie inside the vocabulary");
      (void)tok.decode(ids);
    } catch (const Error&) {
    }
    (void)chat::ChatTemplate::from_gguf(file);
  } catch (const Error&) {
  }
  // The same bytes as a LoRA adapter (the adapter files of ../shared/models are seeds too):
  // metadata, tensor names, pairs and ranks are checked before anything is used.
  try {
    const models::LoraFile lora = models::LoraFile::open(memory.path());
    for (const models::LoraTensorPair& p : lora.pairs()) {
      require(p.a.shape.size() == 2 && p.b.shape.size() == 2 && p.a.shape[0] == p.b.shape[1],
              "an adapter pair is two matrices of one rank");
    }
    require(!lora.alpha() || std::isfinite(*lora.alpha()), "an adapter's alpha is finite");
  } catch (const Error&) {
  }
}

}  // namespace vkgraph::fuzz
