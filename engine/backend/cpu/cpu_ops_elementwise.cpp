// Element-wise and row-wise ops: norms, activations, broadcasting arithmetic, softmax, argmax,
// conversions. Row length is always the last dimension.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "engine/backend/cpu/cpu_ops.h"
#include "engine/core/quant.h"

namespace vkgraph::cpu {
namespace {

const float* f32(const std::byte* p) { return reinterpret_cast<const float*>(p); }
float* f32(std::byte* p) { return reinterpret_cast<float*>(p); }

size_t count(const Node& n) { return size_t(element_count(n.shape)); }
size_t row_length(const Node& n) { return size_t(n.shape.back()); }

// 1 / sqrt(mean(x^2) + eps) of one row, accumulated in double.
double inverse_rms(const float* x, size_t n, float eps) {
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) sum += double(x[i]) * double(x[i]);
  return 1.0 / std::sqrt(sum / double(n) + double(eps));
}

}  // namespace

void op_rms_norm(const OpArgs& a) {
  const size_t n = row_length(a.node);
  const size_t rows = count(a.node) / n;
  const float* x = f32(a.src[0]);
  float* y = f32(a.out);
  for (size_t r = 0; r < rows; ++r) {
    const double inv = inverse_rms(x + r * n, n, a.node.params.eps);
    for (size_t i = 0; i < n; ++i) y[r * n + i] = float(double(x[r * n + i]) * inv);
  }
}

void op_rms_norm_mul(const OpArgs& a) {
  const size_t n = row_length(a.node);
  const size_t rows = count(a.node) / n;
  const float* x = f32(a.src[0]);
  const float* w = f32(a.src[1]);  // [n]
  float* y = f32(a.out);
  for (size_t r = 0; r < rows; ++r) {
    const double inv = inverse_rms(x + r * n, n, a.node.params.eps);
    // Rounded to f32 between the norm and the multiply, as the unfused pair would be.
    for (size_t i = 0; i < n; ++i) y[r * n + i] = float(double(x[r * n + i]) * inv) * w[i];
  }
}

void op_binary(const OpArgs& a) {
  const size_t n = count(a.node);
  const size_t nb = count(*a.in[1]);  // b repeats over a's leading dimensions
  const float* x = f32(a.src[0]);
  const float* b = f32(a.src[1]);
  float* y = f32(a.out);
  if (a.node.op == OpKind::mul) {
    for (size_t i = 0; i < n; ++i) y[i] = x[i] * b[i % nb];
  } else {
    for (size_t i = 0; i < n; ++i) y[i] = x[i] + b[i % nb];
  }
}

void op_scale(const OpArgs& a) {
  const size_t n = count(a.node);
  const float* x = f32(a.src[0]);
  float* y = f32(a.out);
  for (size_t i = 0; i < n; ++i) y[i] = x[i] * a.node.params.scale;
}

void op_silu(const OpArgs& a) {
  const size_t n = count(a.node);
  const float* x = f32(a.src[0]);
  float* y = f32(a.out);
  for (size_t i = 0; i < n; ++i) y[i] = float(double(x[i]) / (1.0 + std::exp(-double(x[i]))));
}

// The tanh form of GELU, as Gemma's checkpoints were trained with (Hugging Face's
// gelu_pytorch_tanh, ggml_gelu): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void op_gelu(const OpArgs& a) {
  const size_t n = count(a.node);
  const float* x = f32(a.src[0]);
  float* y = f32(a.out);
  const double k = std::sqrt(2.0 / 3.14159265358979323846);
  for (size_t i = 0; i < n; ++i) {
    const double v = x[i];
    y[i] = float(0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v))));
  }
}

// cap * tanh(x / cap): values pass nearly unchanged well below the cap and approach +-cap.
void op_softcap(const OpArgs& a) {
  const size_t n = count(a.node);
  const float* x = f32(a.src[0]);
  float* y = f32(a.out);
  const double cap = a.node.params.scale;
  for (size_t i = 0; i < n; ++i) y[i] = float(cap * std::tanh(double(x[i]) / cap));
}

void op_swiglu(const OpArgs& a) {
  const size_t n = count(a.node);
  const float* g = f32(a.src[0]);
  const float* u = f32(a.src[1]);
  float* y = f32(a.out);
  for (size_t i = 0; i < n; ++i) {
    const float silu = float(double(g[i]) / (1.0 + std::exp(-double(g[i]))));
    y[i] = silu * u[i];
  }
}

void op_softmax(const OpArgs& a) {
  const size_t n = row_length(a.node);
  const size_t rows = count(a.node) / n;
  const double scale = a.node.params.scale;
  const float* x = f32(a.src[0]);
  float* y = f32(a.out);
  for (size_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    double max = -INFINITY;
    for (size_t i = 0; i < n; ++i) max = std::fmax(max, double(xr[i]) * scale);
    if (max == -INFINITY) {  // every score masked: no distribution, zeros (not -inf - -inf = NaN)
      std::fill_n(y + r * n, n, 0.0f);
      continue;
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(double(xr[i]) * scale - max);
    for (size_t i = 0; i < n; ++i) y[r * n + i] = float(std::exp(double(xr[i]) * scale - max) / sum);
  }
}

void op_argmax(const OpArgs& a) {
  const Node& x_node = *a.in[0];
  const size_t n = row_length(x_node);
  const size_t rows = count(x_node) / n;
  const float* x = f32(a.src[0]);
  auto* y = reinterpret_cast<int32_t*>(a.out);
  for (size_t r = 0; r < rows; ++r) {
    size_t best = 0;  // strictly greater: ties keep the first index
    for (size_t i = 1; i < n; ++i) {
      if (x[r * n + i] > x[r * n + best]) best = i;
    }
    y[r] = int32_t(best);
  }
}

void op_convert(const OpArgs& a) {
  const DType from = a.in[0]->dtype;
  const DType to = a.node.dtype;
  const size_t n = count(a.node);
  if (from == to) {
    std::memcpy(a.out, a.src[0], row_bytes(to, n));
  } else if (to == DType::F32) {
    dequantize_row(from, a.src[0], f32(a.out), n);
  } else {
    quantize_row(to, f32(a.src[0]), a.out, n);
  }
}

}  // namespace vkgraph::cpu
