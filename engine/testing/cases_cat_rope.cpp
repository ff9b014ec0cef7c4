// An attention block's one-token projections as a decode step builds them: q, k and v products of
// one x, the rope of q and k, the keys and values written into f16 caches (or, as the KV ring
// does, both written as projected and only q rotated). The fusion pass joins the products into a
// matmul_cat and the ropes into one; the Vulkan backend runs the rope and the writes in the
// product's dispatch on CPU-class devices (engine/backend/vulkan/lowering_cat_rope.cpp). Every
// weight type on a llama-like layer; both pairings, the ring, frequency factors with partial
// rotation and a head_dim of 80 on Q4_0 and F16. The rotated q and the whole caches are compared,
// so a wrong rotation, a write to a wrong slot or a missed one fails.

#include <fmt/format.h>

#include "engine/graph/freq_factors.h"
#include "engine/testing/case_data.h"
#include "engine/testing/case_families.h"

namespace vkgraph::testing {
namespace {

// As the other matmul cases (cases_matmul.cpp): f32 sums in another order than the double
// reference differ by NMSE < 1e-10, which the rotation keeps; an f16 cache element that rounds
// the other way moves a whole cache's NMSE by far less. One wrong element of a head moves NMSE
// above 1e-4.
constexpr double cat_rope_nmse = 5e-6;

struct CatRopeShape {
  int64_t n_head, n_kv_head, head_dim, n_slots;
  int32_t n_rot;
  RopeMode mode = RopeMode::normal;
  bool ring = false;     // keys written unrotated
  bool factors = false;  // frequency factors (engine/graph/freq_factors.h)
};

OpCase cat_rope_case(DType w_type, const CatRopeShape& s) {
  const int64_t n_in = in_elements(w_type, blocks(2));
  OpCase c;
  c.name =
      fmt::format("matmul_cat+rope+kv_write w={} n_in={} {} n_head={} n_kv_head={} head_dim={} n_slots={} n_rot={}{}{}",
                  dtype_name(w_type), n_in, s.mode == RopeMode::normal ? "normal" : "neox", s.n_head, s.n_kv_head,
                  s.head_dim, s.n_slots, s.n_rot, s.ring ? " ring" : "", s.factors ? " freq_factors" : "");
  c.op = "matmul_cat";
  c.max_nmse = cat_rope_nmse;
  c.weight = w_type;
  c.build = [name = c.name, w_type, s, n_in](Backend& backend) {
    CaseRng rng(name);
    CaseGraph g;
    const int64_t d = s.head_dim, row = s.n_kv_head * d;
    const TensorId x = add_float_input(g, "x", DType::F32, {1, n_in}, rng.floats(size_t(n_in)));
    const auto product = [&](const char* w_name, int64_t heads) {
      const TensorId w =
          add_weight(g, backend, w_name, w_type, {heads * d, n_in}, rng.floats(size_t(heads * d * n_in)));
      return g.graph.reshape(g.graph.matmul(w, x), {1, heads, d});
    };
    const TensorId q = product("wq", s.n_head);
    const TensorId k = product("wk", s.n_kv_head);
    const TensorId v = product("wv", s.n_kv_head);
    const Shape cache_shape{s.n_slots, s.n_kv_head, d};
    const TensorId cache_k =
        add_state(g, backend, "cache_k", DType::F16, cache_shape, rng.floats(size_t(s.n_slots * row)));
    const TensorId cache_v =
        add_state(g, backend, "cache_v", DType::F16, cache_shape, rng.floats(size_t(s.n_slots * row)));
    const TensorId slots = add_i32_input(g, "slots", {rng.below(int32_t(s.n_slots))});
    const TensorId positions = add_i32_input(g, "pos", {rng.below(4096)});
    const TensorId factors = s.factors ? add_freq_factors(g, s.n_rot) : TensorId{};
    const RopeParams params{s.mode, s.n_rot, 10000.0f, 1.0f};
    const auto rotate = [&](TensorId t) {
      return with_freq_factors(g.graph, g.graph.rope(t, positions, params), factors);
    };
    // In a model step's order (blocks.cpp): q's rope, k's, the cache writes, then their readers.
    const TensorId q_rot = rotate(q);
    const TensorId k_stored = s.ring ? k : rotate(k);
    const TensorId k_written = g.graph.kv_write(cache_k, k_stored, slots);
    const TensorId v_written = g.graph.kv_write(cache_v, v, slots);
    for (TensorId y :
         {g.graph.scale(q_rot, 1.0f), g.graph.convert(k_written, DType::F32), g.graph.convert(v_written, DType::F32)}) {
      g.graph.mark_output(y);
      g.outputs.push_back(y);
    }
    return g;
  };
  return c;
}

}  // namespace

void add_cat_rope_cases(std::vector<OpCase>& cases) {
  const CatRopeShape llama{9, 3, 64, 256, 64};  // smollm2-135m's heads
  for (DType w_type : weight_types()) cases.push_back(cat_rope_case(w_type, llama));
  const CatRopeShape variants[] = {
      {9, 3, 64, 256, 64, RopeMode::neox},
      {9, 3, 64, 256, 64, RopeMode::normal, true},
      {4, 2, 64, 65, 32, RopeMode::normal, false, true},
      {4, 2, 64, 65, 32, RopeMode::neox, false, true},
      {8, 2, 80, 33, 80, RopeMode::neox},
  };
  for (DType w_type : {DType::Q4_0, DType::F16}) {
    for (const CatRopeShape& s : variants) cases.push_back(cat_rope_case(w_type, s));
  }
}

}  // namespace vkgraph::testing
