// matmul and get_rows: the ops that read (possibly quantized) weight rows. Weights are
// dequantized one row at a time with the reference decoder of engine/core/quant.h.

#include <vector>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cpu/parallel.h"
#include "engine/core/error.h"
#include "engine/core/quant.h"

namespace vkgraph::cpu {

// y[i][o] = sum_k x[i][k] * w[o][k] (+ r[i][o] for matmul_add, added after the sum in f32 as the
// Vulkan epilogue does)
void op_matmul(const OpArgs& a) {
  const Node& w_node = *a.in[0];  // w: [n_out, n_in]
  const Node& x_node = *a.in[1];  // x: [..., n_in] f32 or f16
  const auto n_out = size_t(w_node.shape[0]);
  const auto n_in = size_t(w_node.shape[1]);
  const size_t m = size_t(element_count(x_node.shape)) / n_in;
  const size_t w_row = row_bytes(w_node.dtype, n_in);

  // x as f32, once.
  std::vector<float> x(m * n_in);
  dequantize_row(x_node.dtype, a.src[1], x.data(), m * n_in);
  auto* y = reinterpret_cast<float*>(a.out);  // y: [..., n_out]
  // r: [..., n_out], matmul_add only
  const float* r = a.node.op == OpKind::matmul_add ? reinterpret_cast<const float*>(a.src[2]) : nullptr;

  parallel_for(n_out, m * n_in, [&](size_t begin, size_t end) {
    std::vector<float> w(n_in);
    for (size_t o = begin; o < end; ++o) {
      dequantize_row(w_node.dtype, a.src[0] + o * w_row, w.data(), n_in);
      for (size_t i = 0; i < m; ++i) {
        const float* xi = x.data() + i * n_in;
        double sum = 0.0;
        for (size_t k = 0; k < n_in; ++k) sum += double(xi[k]) * double(w[k]);
        y[i * n_out + o] = r != nullptr ? float(sum) + r[i * n_out + o] : float(sum);
      }
    }
  });
}

void op_get_rows(const OpArgs& a) {
  const Node& table = *a.in[0];  // table: [n_rows, n]
  const auto n_rows = table.shape[0];
  const auto n = size_t(table.shape[1]);
  const size_t stride = row_bytes(table.dtype, n);
  const auto* ids = reinterpret_cast<const int32_t*>(a.src[1]);  // ids: [m]
  auto* y = reinterpret_cast<float*>(a.out);                     // y: [m, n]
  for (int64_t i = 0; i < a.node.shape[0]; ++i) {
    const int32_t id = ids[i];
    VKGRAPH_CHECK(id >= 0 && id < n_rows, "get_rows '{}': id {} (entry {} of '{}') is outside table '{}' of {} rows",
                  a.node.name, id, i, a.in[1]->name, table.name, n_rows);
    dequantize_row(table.dtype, a.src[0] + size_t(id) * stride, y + size_t(i) * n, n);
  }
}

}  // namespace vkgraph::cpu
