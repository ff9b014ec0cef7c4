#include "models/quantize.h"

#include <algorithm>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "engine/core/error.h"
#include "engine/core/quant.h"
#include "models/gguf/gguf_writer.h"

namespace vkgraph::models {
namespace {

// Below this many rows a thread costs more than it saves (a row of 4096 converts in ~10 us).
constexpr size_t kMinRowsPerThread = 64;

// Runs fn(first_row, end_row) over [0, rows) on up to hardware_concurrency threads.
template <typename Fn>
void parallel_rows(size_t rows, Fn&& fn) {
  const size_t cores = std::max(1u, std::thread::hardware_concurrency());
  const size_t n_threads = std::clamp<size_t>(rows / kMinRowsPerThread, 1, cores);
  if (n_threads == 1) {
    fn(size_t(0), rows);
    return;
  }
  const size_t per_thread = (rows + n_threads - 1) / n_threads;
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(n_threads);
  for (size_t t = 0; t < n_threads; ++t) {
    const size_t first = t * per_thread, end = std::min(rows, first + per_thread);
    threads.emplace_back([&, t, first, end] {
      try {
        fn(first, end);
      } catch (...) {
        errors[t] = std::current_exception();
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (const std::exception_ptr& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace

MixModel mix_model_of(const gguf::GgufFile& file) {
  MixModel m;
  m.arch = file.find_string("general.architecture").value_or("llama");
  const std::string a = m.arch + ".";
  m.n_head = file.find_u32(a + "attention.head_count").value_or(1);
  m.n_head_kv = file.find_u32(a + "attention.head_count_kv").value_or(uint32_t(m.n_head));
  m.n_layer = file.find_u32(a + "block_count").value_or(0);
  m.tied_output = file.find_tensor("output.weight") == nullptr;
  for (const gguf::TensorInfo& t : file.tensors()) {
    if (t.shape.size() == 2 &&
        (t.name.find("attn_v.weight") != std::string::npos || t.name.find("attn_qkv.weight") != std::string::npos)) {
      m.n_attn_v++;
    }
  }
  return m;
}

std::vector<TensorDesc> describe_tensors(std::span<const gguf::TensorInfo* const> tensors) {
  std::vector<TensorDesc> out;
  for (const gguf::TensorInfo* t : tensors) out.push_back({t->name, t->shape, t->type});
  return out;
}

void quantize_tensor(const gguf::TensorInfo& tensor, std::span<const std::byte> data, DType target,
                     std::span<std::byte> out) {
  VKGRAPH_CHECK(tensor.shape.size() == 2, "tensor '{}' has rank {}, only matrices convert", tensor.name,
                tensor.shape.size());
  const auto rows = size_t(tensor.shape[0]), cols = size_t(tensor.shape[1]);
  VKGRAPH_CHECK(cols % dtype_info(target).block_elements == 0,
                "tensor '{}' cannot become {}: rows of {} are not a multiple of its {}-element block", tensor.name,
                dtype_name(target), cols, dtype_info(target).block_elements);
  const size_t in_row = row_bytes(tensor.type, cols), out_row = row_bytes(target, cols);
  VKGRAPH_CHECK(data.size() == rows * in_row, "tensor '{}': {} bytes of data, expected {}", tensor.name, data.size(),
                rows * in_row);
  VKGRAPH_CHECK(out.size() == rows * out_row, "tensor '{}': output of {} bytes, expected {}", tensor.name, out.size(),
                rows * out_row);
  parallel_rows(rows, [&](size_t first, size_t end) {
    std::vector<float> row(cols);  // F16 rows widen to f32 first, as llama.cpp's quantizer does
    for (size_t r = first; r < end; ++r) {
      dequantize_row(tensor.type, data.data() + r * in_row, row.data(), cols);
      quantize_row(target, row.data(), out.data() + r * out_row, cols);
    }
  });
}

std::vector<std::byte> quantize_tensor(const gguf::TensorInfo& tensor, std::span<const std::byte> data, DType target) {
  VKGRAPH_CHECK(tensor.shape.size() == 2, "tensor '{}' has rank {}, only matrices quantize", tensor.name,
                tensor.shape.size());
  std::vector<std::byte> out(size_t(tensor.shape[0]) * row_bytes(target, size_t(tensor.shape[1])));
  quantize_tensor(tensor, data, target, out);
  return out;
}

QuantizeSummary quantize_file(const std::string& in_path, const std::string& out_path, const QuantScheme& scheme) {
  VKGRAPH_CHECK(in_path != out_path, "{}: the output must be a different file from the input", out_path);
  const gguf::GgufFile in = gguf::GgufFile::open(in_path);

  // Every key is copied in file order; general.alignment, when present, equals in.alignment(),
  // which the writer also uses for the data.
  gguf::GgufWriter writer(in.alignment());
  for (const gguf::MetadataEntry& entry : in.metadata()) writer.set(entry.key, entry.value);
  writer.set_u32("general.file_type", scheme.file_type);

  std::vector<const gguf::TensorInfo*> all;
  for (const gguf::TensorInfo& t : in.tensors()) all.push_back(&t);
  const std::vector<TensorChoice> choices = choose_tensor_types(scheme, mix_model_of(in), describe_tensors(all));

  QuantizeSummary summary;
  std::map<std::string, size_t> by_type;
  for (size_t i = 0; i < all.size(); ++i) {
    const gguf::TensorInfo& t = *all[i];
    const TensorChoice& choice = choices[i];
    summary.tensors_total++;
    summary.bytes_before += t.bytes;
    if (!choice.converted) {
      if (t.shape.size() == 2) {
        summary.kept.push_back({t.name, choice.reason});
      } else {
        summary.vectors_kept++;
      }
      summary.bytes_after += t.bytes;
      // `in` outlives writer.write() below, so the mapping stays valid for the producer.
      writer.add_tensor(t.name, t.type, t.shape, [&in, &t](std::span<std::byte> out) {
        const std::span<const std::byte> data = in.data(t);
        std::copy(data.begin(), data.end(), out.begin());
      });
      continue;
    }
    const DType target = choice.type;
    summary.tensors_converted++;
    by_type[std::string(dtype_name(target))]++;
    if (!choice.reason.empty()) summary.changed.push_back({t.name, choice.reason});
    summary.bytes_after += uint64_t(t.shape[0]) * row_bytes(target, size_t(t.shape[1]));
    writer.add_tensor(t.name, target, t.shape,
                      [&in, &t, target](std::span<std::byte> out) { quantize_tensor(t, in.data(t), target, out); });
  }
  summary.tensors_by_type.assign(by_type.begin(), by_type.end());
  writer.write(out_path);
  return summary;
}

}  // namespace vkgraph::models
