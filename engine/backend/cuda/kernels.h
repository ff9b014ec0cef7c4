#pragma once
// The CUDA kernels as host-callable launch functions (kernels_*.cu). Arguments are device
// pointers and sizes; step_launch.cpp maps a plan step onto one call. Every launch is
// asynchronous on `Launch::stream`; a kernel that finds a bad index (get_rows ids, kv_write
// slots) stores Launch::error_code into *Launch::error instead of reading or writing out of
// bounds, and the executable turns that into an Error naming the step after the run.

#include <cstdint>

#include "engine/core/dtype.h"

struct CUstream_st;

namespace vkgraph::cuda {

struct Launch {
  CUstream_st* stream = nullptr;
  int* error = nullptr;  // device int, 0 before the run
  int error_code = 0;    // the step's number + 1
};

// get_rows: table [n_rows, n] (any weight type), ids [m] -> out [m, n] f32.
void launch_get_rows(const Launch& l, DType table_type, const void* table, int64_t n_rows, int64_t n,
                     const int32_t* ids, int64_t m, float* out);

// A low-rank tail of a product (OpParams::tails): row o of token i gains factor * (b t_i)[o],
// b [n_rows, rank] f16, t [m, rank] f32. b == nullptr: none.
struct LowRankTail {
  const void* b = nullptr;
  const float* t = nullptr;
  int64_t rank = 0;
  float factor = 1.0f;
};

// matmul: w [n_out, n_in] (any weight type), x [m, n_in] (f32/f16) -> y [m, n_out] f32, plus
// `tail` when it has one.
void launch_matmul(const Launch& l, DType w_type, const void* w, DType x_type, const void* x, float* y, int64_t m,
                   int64_t n_in, int64_t n_out, const LowRankTail& tail = {});

// Several products of one x, in one launch (decode): matmul_cat stores x w_i^T side by side,
// y [m, sum of rows]; with `swiglu` (two weights of equal rows) y [m, rows[0]] =
// silu(x w_0^T) * (x w_1^T). Weights [rows[i], n_in] all of type w_type; product i gains
// tails[i] (before the activation).
struct MatmulGroupArgs {
  const void* w[3] = {};
  LowRankTail tails[3] = {};
  int64_t rows[3] = {};
  int count = 0;
  DType w_type = DType::F32;
  const void* x = nullptr;  // [m, n_in]
  DType x_type = DType::F32;
  float* y = nullptr;
  int64_t m = 0, n_in = 0;
  bool swiglu = false;
};
void launch_matmul_group(const Launch& l, const MatmulGroupArgs& a);

// rms_norm (w == nullptr) or rms_norm_mul (w [n]): x, y [rows, n].
void launch_rms_norm(const Launch& l, const float* x, const float* w, float* y, int64_t rows, int64_t n, float eps);

// add or mul: a, y [n], b [nb] repeated over a (nb divides n).
enum class Binary { add, mul };
void launch_binary(const Launch& l, Binary op, const float* a, const float* b, float* y, int64_t n, int64_t nb);

// scale (x * factor), silu (x * sigmoid(x)), swiglu (silu(x) * up), gelu (tanh form),
// softcap (factor * tanh(x / factor)): x, up, y [n].
enum class Unary { scale, silu, swiglu, gelu, softcap };
void launch_unary(const Launch& l, Unary op, const float* x, const float* up, float* y, int64_t n, float factor);

// softmax of x * scale over rows of n: x, y [rows, n].
void launch_softmax(const Launch& l, const float* x, float* y, int64_t rows, int64_t n, float scale);

// argmax: x [rows, n] -> y [rows] i32, the first index of the maximum.
void launch_argmax(const Launch& l, const float* x, int32_t* y, int64_t rows, int64_t n);

// convert f32 <-> f16 (round to nearest even), or a copy for the same type: x, y [n].
void launch_convert(const Launch& l, DType from, DType to, const void* x, void* y, int64_t n);

struct RopeArgs {
  bool neox = false;  // pairs (k, k + n_rot/2) instead of (2k, 2k + 1)
  int32_t n_rot = 0;
  float freq_base = 10000.0f;
  float freq_scale = 1.0f;
  const float* freq_factors = nullptr;  // device [n_rot/2]: theta of pair k divided by it; null: 1
};

// rope: x, y [m, n_head, d] f32, pos [m].
void launch_rope(const Launch& l, const RopeArgs& rope, const float* x, const int32_t* pos, float* y, int64_t m,
                 int64_t n_head, int64_t d);

// The keys of attention with rotate_keys: k [n_slots, n_kv_head, d] (f32/f16) rotated at
// kv_pos[j] into out [n_slots, n_kv_head, d] f32.
void launch_rotate_keys(const Launch& l, const RopeArgs& rope, DType k_type, const void* k, const int32_t* kv_pos,
                        float* out, int64_t n_slots, int64_t n_kv_head, int64_t d);

struct AttentionArgs {
  const float* q = nullptr;   // [m, n_head, d]
  const void* k = nullptr;    // [n_slots, n_kv_head, d], k_type
  const void* v = nullptr;    // [n_slots, n_kv_head, d], kv_type
  DType k_type = DType::F32;  // f32 when k is the rotated copy
  DType v_type = DType::F32;
  const int32_t* q_pos = nullptr;   // [m]
  const int32_t* kv_pos = nullptr;  // [n_slots]
  float* out = nullptr;             // [m, n_head, d]
  int64_t m = 0, n_head = 0, n_kv_head = 0, n_slots = 0, d = 0;
  float scale = 1.0f;
  int32_t window = 0;
  float softcap = 0.0f;  // > 0: scores soft-capped, softcap * tanh(s / softcap)
};

// The largest head_dim the attention kernel holds in registers (16 values a lane).
constexpr int64_t kMaxAttentionHeadDim = 512;

void launch_attention(const Launch& l, const AttentionArgs& a);

// The kernels' element decoder (decode_blocks.cuh) run on the host: out[k] for k < n from n
// elements of `type` at `blocks`, exactly as load_element gives them on a device. For tests on
// machines without a GPU; false (and nothing written) in a build without the CUDA backend.
bool decode_row_with_cuda_decoder(DType type, const void* blocks, float* out, int64_t n);

struct PagedAttentionArgs {
  const float* q = nullptr;  // [m, n_head, d]
  const void* k = nullptr;   // pools [n_pool, n_kv_head, d], kv_type
  const void* v = nullptr;
  DType kv_type = DType::F16;
  const int32_t* table = nullptr;     // [n_rows, max_blocks]
  const int32_t* seq_rows = nullptr;  // [m]
  const int32_t* q_pos = nullptr;     // [m]
  float* out = nullptr;               // [m, n_head, d]
  int64_t m = 0, n_head = 0, n_kv_head = 0, d = 0, n_pool = 0, n_rows = 0, max_blocks = 0, block_size = 1;
  float scale = 1.0f;
  int32_t window = 0;
  float softcap = 0.0f;  // > 0: scores soft-capped, softcap * tanh(s / softcap)
};

// paged_attention (kernels_paged.cu): table entries and rows outside the table and the pool are
// reported through Launch::error.
void launch_paged_attention(const Launch& l, const PagedAttentionArgs& a);

// kv_write: cache [n_slots, row] (f32/f16), src [m, row] f32, slots [m]; rows in order, so a
// slot named twice keeps the later row.
void launch_kv_write(const Launch& l, DType cache_type, void* cache, int64_t n_slots, const float* src,
                     const int32_t* slots, int64_t m, int64_t row);

}  // namespace vkgraph::cuda
