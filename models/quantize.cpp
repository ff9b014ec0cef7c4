#include "models/quantize.h"

#include <algorithm>
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

DType parse_weight_type(const std::string& name, const std::string& option) {
  if (name == "q8_0") return DType::Q8_0;
  if (name == "q4_0") return DType::Q4_0;
  fail("{} must be q8_0 or q4_0 (got '{}')", option, name);
}

uint32_t gguf_file_type(DType type) {
  switch (type) {
    case DType::F32:
      return 0;
    case DType::F16:
      return 1;
    case DType::Q4_0:
      return 2;
    case DType::Q8_0:
      return 7;
    case DType::I32:
      break;
  }
  fail("no GGUF file type for {} weights", dtype_name(type));
}

std::optional<std::string> why_kept(const gguf::TensorInfo& tensor, DType target) {
  if (tensor.shape.size() != 2) {
    return fmt::format("rank {} ({}): norms and biases stay in f32", tensor.shape.size(), dtype_name(tensor.type));
  }
  if (tensor.type == target) return fmt::format("already {}", dtype_name(target));
  if (tensor.type != DType::F32 && tensor.type != DType::F16) {
    return fmt::format("already quantized ({}); requantizing would add a second rounding", dtype_name(tensor.type));
  }
  const size_t block = dtype_info(target).block_elements;
  if (tensor.shape[1] % int64_t(block) != 0) {
    return fmt::format("rows of {} are not a multiple of the {}-element {} block", tensor.shape[1], block,
                       dtype_name(target));
  }
  return std::nullopt;
}

void quantize_tensor(const gguf::TensorInfo& tensor, std::span<const std::byte> data, DType target,
                     std::span<std::byte> out) {
  if (const auto reason = why_kept(tensor, target))
    fail("tensor '{}' cannot become {}: {}", tensor.name, dtype_name(target), *reason);
  const auto rows = size_t(tensor.shape[0]), cols = size_t(tensor.shape[1]);
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

QuantizeSummary quantize_file(const std::string& in_path, const std::string& out_path, DType target) {
  VKGRAPH_CHECK(target == DType::Q8_0 || target == DType::Q4_0, "{}: cannot quantize to {} (q8_0 or q4_0)", out_path,
                dtype_name(target));
  VKGRAPH_CHECK(in_path != out_path, "{}: the output must be a different file from the input", out_path);
  const gguf::GgufFile in = gguf::GgufFile::open(in_path);

  // Every key is copied in file order; general.alignment, when present, equals in.alignment(),
  // which the writer also uses for the data.
  gguf::GgufWriter writer(in.alignment());
  for (const gguf::MetadataEntry& entry : in.metadata()) writer.set(entry.key, entry.value);
  writer.set_u32("general.file_type", gguf_file_type(target));

  QuantizeSummary summary;
  for (const gguf::TensorInfo& t : in.tensors()) {
    summary.tensors_total++;
    summary.bytes_before += t.bytes;
    const auto reason = why_kept(t, target);
    if (reason) {
      if (t.shape.size() == 2) {
        summary.kept.push_back({t.name, *reason});
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
    summary.tensors_converted++;
    summary.bytes_after += uint64_t(t.shape[0]) * row_bytes(target, size_t(t.shape[1]));
    writer.add_tensor(t.name, target, t.shape,
                      [&in, &t, target](std::span<std::byte> out) { quantize_tensor(t, in.data(t), target, out); });
  }
  writer.write(out_path);
  return summary;
}

}  // namespace vkgraph::models
