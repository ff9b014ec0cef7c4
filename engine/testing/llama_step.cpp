#include "engine/testing/llama_step.h"

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "engine/core/error.h"

namespace vkgraph::testing {
namespace {

// A zero-filled weight of `shape` uploaded to the backend.
TensorId zero_weight(Graph& g, Backend& backend, const std::string& name, DType dtype, const Shape& shape) {
  const auto rows = size_t(shape.size() == 2 ? shape[0] : 1);
  const std::vector<std::byte> bytes(rows * row_bytes(dtype, size_t(shape.back())));
  return g.weight(name, dtype, shape, backend.upload(bytes));
}

}  // namespace

LlamaStep build_llama_step(const LlamaDims& d, Backend& backend) {
  VKGRAPH_CHECK(d.n_head % d.n_kv_head == 0, "llama step: n_head {} is not a multiple of n_kv_head {}", d.n_head,
                d.n_kv_head);
  VKGRAPH_CHECK(d.n_tokens >= 1 && d.n_tokens <= d.n_kv, "llama step: {} tokens do not fit {} cache slots", d.n_tokens,
                d.n_kv);
  LlamaStep s;
  Graph& g = s.graph;
  const int64_t m = d.n_tokens;
  s.tokens = g.input("tokens", DType::I32, {m});
  s.positions = g.input("positions", DType::I32, {m});
  s.slots = g.input("slots", DType::I32, {m});
  s.kv_pos = g.input("kv_pos", DType::I32, {d.n_kv});
  const AttentionParams attn{1.0f / std::sqrt(float(d.head_dim)), d.window};
  const DType norm_type = DType::F32;  // norm weights stay f32 in GGUF files

  // x: [m, n_embd]
  TensorId x =
      g.name(g.get_rows(zero_weight(g, backend, "token_embd", d.weight_type, {d.n_vocab, d.n_embd}), s.tokens), "embd");
  for (int64_t il = 0; il < d.n_layer; ++il) {
    auto w = [&](const char* what, DType type, const Shape& shape) {
      return zero_weight(g, backend, fmt::format("blk.{}.{}", il, what), type, shape);
    };
    const int64_t q_dim = d.n_head * d.head_dim, kv_dim = d.n_kv_head * d.head_dim;
    const TensorId h = g.mul(g.rms_norm(x, d.rms_eps), w("attn_norm", norm_type, {d.n_embd}));
    TensorId q = g.matmul(w("attn_q", d.weight_type, {q_dim, d.n_embd}), h);   // [m, q_dim]
    TensorId k = g.matmul(w("attn_k", d.weight_type, {kv_dim, d.n_embd}), h);  // [m, kv_dim]
    TensorId v = g.matmul(w("attn_v", d.weight_type, {kv_dim, d.n_embd}), h);
    q = g.rope(g.reshape(q, {m, d.n_head, d.head_dim}), s.positions, d.rope);
    k = g.rope(g.reshape(k, {m, d.n_kv_head, d.head_dim}), s.positions, d.rope);
    v = g.reshape(v, {m, d.n_kv_head, d.head_dim});

    const Shape cache_shape{d.n_kv, d.n_kv_head, d.head_dim};
    const size_t cache_bytes = size_t(d.n_kv) * row_bytes(d.kv_type, size_t(kv_dim));
    const TensorId k_cache =
        g.state(fmt::format("cache_k.{}", il), d.kv_type, cache_shape, backend.allocate_state(cache_bytes));
    const TensorId v_cache =
        g.state(fmt::format("cache_v.{}", il), d.kv_type, cache_shape, backend.allocate_state(cache_bytes));
    const TensorId k_all = g.kv_write(k_cache, k, s.slots);
    const TensorId v_all = g.kv_write(v_cache, v, s.slots);
    const TensorId a = g.attention(q, k_all, v_all, s.positions, s.kv_pos, attn);  // [m, n_head, head_dim]
    const TensorId o = g.matmul(w("attn_output", d.weight_type, {d.n_embd, q_dim}), g.reshape(a, {m, q_dim}));
    x = g.name(g.add(x, o), fmt::format("attn_res.{}", il));

    const TensorId f = g.mul(g.rms_norm(x, d.rms_eps), w("ffn_norm", norm_type, {d.n_embd}));
    const TensorId gate = g.matmul(w("ffn_gate", d.weight_type, {d.n_ff, d.n_embd}), f);  // [m, n_ff]
    const TensorId up = g.matmul(w("ffn_up", d.weight_type, {d.n_ff, d.n_embd}), f);
    const TensorId act = g.mul(g.silu(gate), up);
    const TensorId down = g.matmul(w("ffn_down", d.weight_type, {d.n_embd, d.n_ff}), act);  // [m, n_embd]
    x = g.name(g.add(x, down), fmt::format("ffn_res.{}", il));
  }
  if (m > 1) x = g.rows(x, m - 1, 1);  // only the last token is sampled
  x = g.mul(g.rms_norm(x, d.rms_eps), zero_weight(g, backend, "output_norm", norm_type, {d.n_embd}));
  s.logits = g.name(g.matmul(zero_weight(g, backend, "output", d.weight_type, {d.n_vocab, d.n_embd}), x), "logits");
  s.next = g.name(g.argmax(s.logits), "next");
  g.mark_output(s.logits);
  g.mark_output(s.next);
  return s;
}

}  // namespace vkgraph::testing
