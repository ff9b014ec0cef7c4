#include "engine/backend/cuda/step_launch.h"

#include <fmt/format.h>

#include "engine/core/error.h"

namespace vkgraph::cuda {
namespace {

int64_t count(const Node& n) { return element_count(n.shape); }
int64_t last(const Node& n) { return n.shape.back(); }

template <typename T>
T* as(std::byte* p) {
  return reinterpret_cast<T*>(p);
}

// factors: the op's frequency-factor input on the device, or null without one.
RopeArgs rope_args(const RopeParams& p, const void* factors) {
  return RopeArgs{p.mode == RopeMode::neox, p.n_rot, p.freq_base, p.freq_scale, static_cast<const float*>(factors)};
}

// Member `member`'s low-rank tail of a matmul-family step (none when it has none).
LowRankTail tail_of(const StepLaunch& s, int member) {
  if (!s.node.params.tails.has(member)) return {};
  const size_t b = tail_input_index(s.node, member);
  return LowRankTail{s.src[b], as<const float>(s.src[b + 1]), s.in[b]->shape[1],
                     s.node.params.tails.factor[size_t(member)]};
}

}  // namespace

size_t step_scratch_bytes(const Node& node, const std::vector<const Node*>& in) {
  if (node.op != OpKind::attention || !node.params.attention.rotate_keys) return 0;
  return size_t(count(*in[1])) * sizeof(float);
}

void check_step(const Node& node, const std::vector<const Node*>& in) {
  if (node.op == OpKind::attention || node.op == OpKind::paged_attention) {
    VKGRAPH_CHECK(node.shape[2] <= kMaxAttentionHeadDim,
                  "cuda: attention '{}': head_dim {} is over the {} the CUDA attention kernel holds (k '{}')",
                  node.name, node.shape[2], kMaxAttentionHeadDim, in[1]->name);
  }
}

std::string step_kernel(const Node& node, const std::vector<const Node*>& in) {
  switch (node.op) {
    case OpKind::matmul:
    case OpKind::matmul_add:
      return fmt::format("matmul_{}_{}", dtype_name(in[0]->dtype), dtype_name(in[1]->dtype));
    case OpKind::matmul_cat:
    case OpKind::matmul_swiglu:
      return fmt::format("{}_{}_{}", op_name(node.op), dtype_name(in[0]->dtype),
                         dtype_name(in[base_input_count(node) - 1]->dtype));
    case OpKind::get_rows:
      return fmt::format("get_rows_{}", dtype_name(in[0]->dtype));
    case OpKind::attention:
      return fmt::format("attention_{}{}", dtype_name(in[1]->dtype),
                         node.params.attention.rotate_keys ? "+rotate_keys" : "");
    case OpKind::paged_attention:
      return fmt::format("paged_attention_{}", dtype_name(in[1]->dtype));
    case OpKind::kv_write:
      return fmt::format("kv_write_{}", dtype_name(node.dtype));
    case OpKind::convert:
      return fmt::format("convert_{}_{}", dtype_name(in[0]->dtype), dtype_name(node.dtype));
    default:
      return op_name(node.op);
  }
}

void launch_step(const StepLaunch& s) {
  const Node& n = s.node;
  const Launch& l = s.launch;
  switch (n.op) {
    case OpKind::get_rows: {
      const Node& table = *s.in[0];  // [n_rows, n]
      launch_get_rows(l, table.dtype, s.src[0], table.shape[0], table.shape[1], as<int32_t>(s.src[1]), n.shape[0],
                      as<float>(s.out));
      return;
    }
    case OpKind::rms_norm:
      launch_rms_norm(l, as<float>(s.src[0]), nullptr, as<float>(s.out), count(n) / last(n), last(n), n.params.eps);
      return;
    case OpKind::rms_norm_mul:
      launch_rms_norm(l, as<float>(s.src[0]), as<float>(s.src[1]), as<float>(s.out), count(n) / last(n), last(n),
                      n.params.eps);
      return;
    case OpKind::mul:
    case OpKind::add:
      launch_binary(l, n.op == OpKind::add ? Binary::add : Binary::mul, as<float>(s.src[0]), as<float>(s.src[1]),
                    as<float>(s.out), count(n), count(*s.in[1]));
      return;
    case OpKind::scale:
      launch_unary(l, Unary::scale, as<float>(s.src[0]), nullptr, as<float>(s.out), count(n), n.params.scale);
      return;
    case OpKind::silu:
      launch_unary(l, Unary::silu, as<float>(s.src[0]), nullptr, as<float>(s.out), count(n), 1.0f);
      return;
    case OpKind::gelu:
      launch_unary(l, Unary::gelu, as<float>(s.src[0]), nullptr, as<float>(s.out), count(n), 1.0f);
      return;
    case OpKind::softcap:
      launch_unary(l, Unary::softcap, as<float>(s.src[0]), nullptr, as<float>(s.out), count(n), n.params.scale);
      return;
    case OpKind::swiglu:
      launch_unary(l, Unary::swiglu, as<float>(s.src[0]), as<float>(s.src[1]), as<float>(s.out), count(n), 1.0f);
      return;
    case OpKind::matmul: {
      const Node& w = *s.in[0];  // [n_out, n_in]
      const Node& x = *s.in[1];  // [..., n_in]
      launch_matmul(l, w.dtype, s.src[0], x.dtype, s.src[1], as<float>(s.out), count(x) / w.shape[1], w.shape[1],
                    w.shape[0], tail_of(s, 0));
      return;
    }
    case OpKind::matmul_add: {   // inputs w, x, r: the product (and its tail), then the residual added in place
      const Node& w = *s.in[0];  // [n_out, n_in]
      const Node& x = *s.in[1];  // [..., n_in]
      launch_matmul(l, w.dtype, s.src[0], x.dtype, s.src[1], as<float>(s.out), count(x) / w.shape[1], w.shape[1],
                    w.shape[0], tail_of(s, 0));
      launch_binary(l, Binary::add, as<float>(s.out), as<float>(s.src[2]), as<float>(s.out), count(n), count(n));
      return;
    }
    case OpKind::matmul_cat:       // inputs w_0.., x
    case OpKind::matmul_swiglu: {  // inputs w_gate, w_up, x
      const size_t x_index = base_input_count(n) - 1;
      const Node& x = *s.in[x_index];  // [..., n_in]
      MatmulGroupArgs a;
      a.count = int(x_index);
      VKGRAPH_CHECK(a.count >= 2 && a.count <= 3, "cuda: '{}' ({}) has {} weights; the kernel takes 2 or 3", n.name,
                    op_name(n.op), a.count);
      for (int i = 0; i < a.count; ++i) {
        a.w[i] = s.src[size_t(i)];
        a.rows[i] = s.in[size_t(i)]->shape[0];
        a.tails[i] = tail_of(s, i);
      }
      a.w_type = s.in[0]->dtype;
      a.x = s.src[x_index];
      a.x_type = x.dtype;
      a.y = as<float>(s.out);
      a.n_in = last(x);
      a.m = count(x) / a.n_in;
      a.swiglu = n.op == OpKind::matmul_swiglu;
      launch_matmul_group(l, a);
      return;
    }
    case OpKind::rope:
      launch_rope(l, rope_args(n.params.rope, s.in.size() > 2 ? s.src[2] : nullptr), as<float>(s.src[0]),
                  as<int32_t>(s.src[1]), as<float>(s.out), n.shape[0], n.shape[1], n.shape[2]);
      return;
    case OpKind::softmax:
      launch_softmax(l, as<float>(s.src[0]), as<float>(s.out), count(n) / last(n), last(n), n.params.scale);
      return;
    case OpKind::attention: {
      const Node& k = *s.in[1];  // [n_slots, n_kv_head, d]
      const AttentionParams& p = n.params.attention;
      AttentionArgs a;
      a.q = as<float>(s.src[0]);
      a.k = s.src[1];
      a.v = s.src[2];
      a.k_type = k.dtype;
      a.v_type = s.in[2]->dtype;
      a.q_pos = as<int32_t>(s.src[3]);
      a.kv_pos = as<int32_t>(s.src[4]);
      a.out = as<float>(s.out);
      a.m = n.shape[0];
      a.n_head = n.shape[1];
      a.d = n.shape[2];
      a.n_slots = k.shape[0];
      a.n_kv_head = k.shape[1];
      a.scale = p.scale;
      a.window = p.window;
      a.softcap = p.softcap;
      if (p.rotate_keys) {
        launch_rotate_keys(l, rope_args(p.key_rope, s.in.size() > 5 ? s.src[5] : nullptr), k.dtype, s.src[1], a.kv_pos,
                           as<float>(s.scratch), a.n_slots, a.n_kv_head, a.d);
        a.k = s.scratch;
        a.k_type = DType::F32;
      }
      launch_attention(l, a);
      return;
    }
    case OpKind::paged_attention: {
      const Node& k = *s.in[1];      // [n_pool, n_kv_head, d]
      const Node& table = *s.in[3];  // [n_rows, max_blocks]
      PagedAttentionArgs a;
      a.q = as<float>(s.src[0]);
      a.k = s.src[1];
      a.v = s.src[2];
      a.kv_type = k.dtype;
      a.table = as<int32_t>(s.src[3]);
      a.seq_rows = as<int32_t>(s.src[4]);
      a.q_pos = as<int32_t>(s.src[5]);
      a.out = as<float>(s.out);
      a.m = n.shape[0];
      a.n_head = n.shape[1];
      a.d = n.shape[2];
      a.n_pool = k.shape[0];
      a.n_kv_head = k.shape[1];
      a.n_rows = table.shape[0];
      a.max_blocks = table.shape[1];
      a.block_size = n.params.attention.block_size;
      a.scale = n.params.attention.scale;
      a.window = n.params.attention.window;
      a.softcap = n.params.attention.softcap;
      launch_paged_attention(l, a);
      return;
    }
    case OpKind::kv_write: {
      const Node& src = *s.in[1];  // [m, n_kv_head, d]
      launch_kv_write(l, n.dtype, s.out, n.shape[0], as<float>(s.src[1]), as<int32_t>(s.src[2]), src.shape[0],
                      n.shape[1] * n.shape[2]);
      return;
    }
    case OpKind::argmax: {
      const Node& x = *s.in[0];
      launch_argmax(l, as<float>(s.src[0]), as<int32_t>(s.out), count(x) / last(x), last(x));
      return;
    }
    case OpKind::convert:
      launch_convert(l, s.in[0]->dtype, n.dtype, s.src[0], s.out, count(n));
      return;
    case OpKind::leaf:
    case OpKind::view:
    case OpKind::rms_norm_low_rank:  // not among this backend's fused ops (backend_cuda.h)
      break;
  }
  fail("cuda backend: '{}' is a {}, not an op to run", n.name, op_name(n.op));
}

}  // namespace vkgraph::cuda
