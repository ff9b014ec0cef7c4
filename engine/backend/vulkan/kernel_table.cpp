#include "engine/backend/vulkan/kernel_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/core/error.h"
#include "shaders/attention/split_key_stage.h"
#include "shaders/matmul/tiled_layout.h"

namespace vkgraph::vk {
namespace {

constexpr DType F32 = DType::F32;
constexpr DType F16 = DType::F16;
constexpr DType I32 = DType::I32;

// The weight types whose Vulkan shaders include `family` (the vulkan column of
// engine/core/weight_types.def, which also decides which variants shaders/*/shaders.cmake builds).
std::vector<DType> vulkan_weight_types(VulkanKernels family) {
  std::vector<DType> types;
  for (size_t i = 0; i < kDTypeCount; ++i) {
    const auto t = static_cast<DType>(i);
    if (dtype_info(t).vulkan & family) types.push_back(t);
  }
  return types;
}

// F16 tensors and quantized blocks (read as uint16_t words) need 16-bit storage access.
bool needs_16bit(DType t) { return t != F32 && t != I32; }

KernelRequirements requirements(DType a, DType b, uint32_t invocations, uint32_t shared_bytes) {
  KernelRequirements req;
  req.needs_storage_16bit = needs_16bit(a) || needs_16bit(b);
  req.workgroup_invocations = invocations;
  req.shared_memory_bytes = shared_bytes;
  return req;
}

// A one-invocation-per-element kernel: 256 wide, and a 128-wide fallback because Vulkan only
// guarantees maxComputeWorkGroupInvocations >= 128 and some mobile GPUs stop there.
void add_elementwise(std::vector<KernelRow>& rows, KernelKey key, std::string_view shader,
                     KernelFamily family = KernelFamily::elementwise) {
  rows.push_back({key, family, {shader, requirements(key.a, key.b, 256, 0)}, 256, {}, "element-wise, 256 invocations"});
  rows.push_back({key,
                  family,
                  {shader, requirements(key.a, key.b, 128, 0)},
                  128,
                  {},
                  "devices limited to 128 invocations per workgroup (the Vulkan minimum)"});
}

// Shared arrays with one entry per invocation are sized for MAX_WORKGROUP (shaders/common/grid.glsl)
// invocations, whatever the row's workgroup size.
constexpr uint32_t kReduceBytes = kMaxWorkgroup * 4;

// Shared memory of shaders/matmul/matmul_coopmat.comp at BM x BN x BK: the f16 tiles of
// activations (BM x BK) and weights (BN rows of BK + 8: WS_STRIDE), the f32 accumulators (BM x BN)
// and the per-token x_scale (BM floats).
constexpr uint32_t coopmat_matmul_shared_bytes(uint32_t bm, uint32_t bn, uint32_t bk) {
  return (bm * bk + bn * (bk + 8)) * 2 + bm * bn * 4 + bm * 4;
}

// One workgroup per row with a shared-memory reduction. 128 wide: a row of a llama model is
// 2048-8192 wide, so each invocation sums 16-64 values.
void add_row_kernel(std::vector<KernelRow>& rows, KernelKey key, const char* shader, uint32_t extra_shared = 0) {
  rows.push_back({key,
                  KernelFamily::row_reduction,
                  {shader, requirements(key.a, key.b, 128, kReduceBytes + extra_shared)},
                  128,
                  {},
                  "one workgroup per row, shared-memory reduction"});
}

// The RMS norms (shaders/norm/rms_norm.comp): on a CPU-class device the variant whose workgroup is
// one subgroup reducing with subgroupAdd, no barrier (lavapipe, smollm2-135m Q4_0 decode: the 61
// norms of a step 3.8-4.2 ms instead of 6.2-6.8 by timestamps, which add about 3 ms to either; the
// untimed step, with the attention change below, about 1 ms faster: docs/performance.md). 8
// invocations, within every subgroup of at least 8 lanes. Elsewhere, and where subgroups are
// narrower, the portable row.
void add_norm_rows(std::vector<KernelRow>& rows, KernelKey key, const char* shader, const char* subgroup_shader) {
  KernelRequirements one_subgroup = requirements(key.a, key.b, 8, 0);
  one_subgroup.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  one_subgroup.min_subgroup_size = 8;
  rows.push_back({key,
                  KernelFamily::row_reduction,
                  {subgroup_shader, one_subgroup},
                  8,
                  {},
                  "CPU-class device: one subgroup per row, subgroupAdd, no barrier",
                  RowWhen::cpu});
  add_row_kernel(rows, key, shader);
}

// A shader name built at run time, kept alive for the rows' string_views (the table is static).
std::string_view intern(std::string name) {
  static std::deque<std::string> names;
  return names.emplace_back(std::move(name));
}

// The row-parallel kernel (matmul/rows_*): spec constants ROWS, LANES, TOKENS. It reduces with
// subgroup shuffles inside clusters of LANES invocations; with LANES 1 the first 8 invocations
// of a subgroup load a block's activations and broadcast them, so subgroups of at least 8.
KernelRequirements rows_requirements(DType w, DType x, uint32_t invocations, uint32_t lanes) {
  KernelRequirements req = requirements(w, x, invocations, 0);
  req.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT;
  req.min_subgroup_size = lanes == 1 ? 8 : lanes;
  return req;
}

void add_matmul(std::vector<KernelRow>& rows, DType w, DType x, const std::string& wx) {
  const std::string_view rows_name = intern("matmul/rows_" + wx);
  const std::string_view matvec_name = intern("matmul/matvec_" + wx);
  const std::string_view tiled_name = intern("matmul/tiled_" + wx);

  // Decode where 4x8-bit packed signed dot products are accelerated: activations quantized to
  // int8 per block in the kernel (shaders/matmul/matvec_dot8.comp), one dot instruction per 4
  // weights. 16 rows x 4 lanes = 64 invocations (at least the 32 that quantize a chunk of
  // activation blocks); shared memory: the chunk (32 blocks x (8 words + scale + sum)) and the
  // per-invocation partial sums.
  if (dtype_info(w).vulkan & vk_dot8) {
    KernelRequirements dot = requirements(w, x, 64, 32 * (8 + 2) * 4 + kReduceBytes);
    dot.needs_int8_dot = true;  // runs wherever supported (forced in tests); chosen only where fast
    rows.push_back({{OpKind::matmul, w, x, KernelForm::vector},
                    KernelFamily::matmul_dot8,
                    {intern("matmul/dot8_" + wx), dot},
                    64,
                    {16, 4, 1},
                    "decode where the device accelerates 4x8-bit packed dot products: int8 activations per block",
                    RowWhen::int8_dot_fast});
  }

  // Decode on CPU-class devices: one invocation per output row (LANES 1). The SIMD lanes of a
  // subgroup then hold 8 rows at one k, every lane needs the same activations (loaded once per
  // block by 8 lanes and broadcast) and nothing is reduced; 32 rows a workgroup gives 18
  // workgroups for a 576-row matrix, enough for every core. lavapipe pays per load instruction,
  // so this layout (few, wide loads) is what matters there. Measured with vkgraph_bench_matvec
  // on lavapipe: q4_0 576x576 567 -> 156 us, 49152x576 224 -> 7.9 ms against the shared-memory
  // mat-vec below. GPUs keep their own row.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::vector},
                  KernelFamily::matmul_rows,
                  {rows_name, rows_requirements(w, x, 32, 1)},
                  32,
                  {32, 1, 1},
                  "decode, CPU-class device: a row per invocation, activations broadcast in the subgroup, no reduction",
                  RowWhen::cpu});
  // Decode on GPUs: 8 invocations per row read neighbouring blocks (coalesced) and reduce with
  // subgroup shuffles; 64 invocations = 8 rows at a time, 16 rows a workgroup. 8 lanes fit
  // every subgroup size GPUs use (8 to 128), so the row runs everywhere subgroups do, and a
  // 576-wide row (18 blocks) still keeps them all busy.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::vector},
                  KernelFamily::matmul_rows,
                  {rows_name, rows_requirements(w, x, 64, 8)},
                  64,
                  {16, 8, 1},
                  "decode, GPU: 8 lanes per row, subgroup-shuffle reduction, no shared memory",
                  RowWhen::gpu});
  // Portable decode: no subgroup operations. 64 invocations for 4 output rows, 16 per row,
  // reduced through shared memory.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::vector},
                  KernelFamily::matmul_matvec,
                  {matvec_name, requirements(w, x, 64, kReduceBytes)},
                  64,
                  {4},
                  "decode without subgroup shuffles: 4 rows per workgroup, shared-memory reduction"});
  // The cooperative-matrix kernel below over the emulation (VKGRAPH_EMULATE_COOPMAT): first, so
  // that a device told to emulate runs it (CI on lavapipe, a CPU-class device whose own rows would
  // win otherwise). 32 x 32 x 32 tiles (8.6 KiB) and 64 invocations, so the tiles and the
  // emulation's scratch (a product's A and B per subgroup: 8 KiB at 8 subgroups of 8 lanes, 16 KiB
  // at 16 of 4) fit lavapipe's 32 KiB.
  if (dtype_info(w).vulkan & vk_coopmat) {
    KernelRequirements emu = requirements(w, x, 64, coopmat_matmul_shared_bytes(32, 32, 32));
    emu.coopmat = CoopMatShape{0, 0, 0};
    emu.coopmat_emulated = true;
    emu.needs_fp16 = true;
    emu.needs_storage_16bit = true;
    emu.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;
    rows.push_back({{OpKind::matmul, w, x, KernelForm::matrix},
                    KernelFamily::matmul_tiled,
                    {intern("matmul/coopmat_emu_" + wx), emu},
                    64,
                    {32, 32, 32},
                    "prefill: the cooperative-matrix kernel over the emulation (VKGRAPH_EMULATE_COOPMAT)"});
  }
  // Prefill on CPU-class devices (shaders/matmul/matmul_rows_tokens.comp): a register tile of
  // RPI rows x TOKENS tokens per invocation, lanes on different rows. lavapipe pays ~45 cycles
  // per load instruction, so what counts is loads per multiply-add: one broadcast load of
  // activations feeds RPI rows and one decoded weight block TOKENS tokens. 8 x 4 measured best
  // of nine tiles from 1 x 8 to 8 x 8 and 4 x 16 with vkgraph_bench_matvec --tokens 128 (q4_0
  // smollm2 shapes, process CPU time: gate/up 31 -> 18 ms, down 30 -> 19 ms against the row
  // kernel below); larger tiles spill the driver's registers. 16 invocations x 8 rows = 128 rows a workgroup, so a
  // 192-row matrix at 128 tokens still makes 64 workgroups for the cores. No shared memory, no barrier. GPUs keep the
  // tiled rows below.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::matrix},
                  KernelFamily::matmul_rows_tokens,
                  {intern("matmul/rows_tokens_" + wx), rows_requirements(w, x, 16, 1)},
                  16,
                  {8, 4, 0},
                  "prefill, CPU-class device: 8 rows x 4 tokens per invocation, activations broadcast",
                  RowWhen::cpu});
  // The previous CPU-class prefill: the row kernel with 8 tokens per invocation, each decoded
  // weight block used 8 times from registers; no shared memory, no barrier (a barrier splits a
  // lavapipe workgroup into coroutines). The tile above needs the same features, so this row
  // runs only when forced (tests, and benchmarks comparing the two).
  rows.push_back({{OpKind::matmul, w, x, KernelForm::matrix},
                  KernelFamily::matmul_rows,
                  {rows_name, rows_requirements(w, x, 32, 1)},
                  32,
                  {32, 1, 8},
                  "prefill, CPU-class device: a row x 8 tokens per invocation, block decoded once",
                  RowWhen::cpu});
  // Prefill with cooperative matrices (shaders/matmul/matmul_coopmat.comp) at the device's f16 x
  // f16 + f32 -> f32 subgroup shape (8 or 16 each way: device_coopmat_shape, passed as
  // specialization constants): 64 tokens x 64 output rows x 32 of n_in per step, staged as f16
  // (9 KiB: weight rows padded against bank conflicts); 128 invocations = 4 subgroups of 32 or 2
  // of 64 share the tile products, each keeping its sub-tiles' accumulators in registers for the
  // whole K loop (4 or 8 of 16x16) and storing them to shared memory (f32, 16 KiB) once, for the
  // edge-checked store.
  if (dtype_info(w).vulkan & vk_coopmat) {
    KernelRequirements coop = requirements(w, x, 128, coopmat_matmul_shared_bytes(64, 64, 32));
    coop.coopmat = CoopMatShape{0, 0, 0};
    coop.needs_fp16 = true;
    coop.needs_storage_16bit = true;
    coop.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;
    rows.push_back({{OpKind::matmul, w, x, KernelForm::matrix},
                    KernelFamily::matmul_tiled,
                    {intern("matmul/coopmat_" + wx), coop},
                    128,
                    {64, 64, 32},
                    "prefill: cooperative-matrix tile products at the device's f16 shape"});
  }
  // Tiled: 32 tokens x 32 output rows x 32 of n_in per step (one quant block along k), 4x4
  // accumulators per invocation -> 64 invocations and 8.25 KiB of shared memory (rows padded
  // against bank conflicts: shaders/matmul/tiled_layout.h), well inside the 16 KiB every Vulkan
  // device has.
  rows.push_back({{OpKind::matmul, w, x, KernelForm::matrix},
                  KernelFamily::matmul_tiled,
                  {tiled_name, requirements(w, x, 64, shaders::tiled::tiled_shared_bytes(32, 32, 32))},
                  64,
                  {32, 32, 32},
                  "prefill: portable shared-memory tiles"});
}

// matmul_add (one token, a residual added in the store): the decode mat-vecs above compiled with
// ADD, same launch shapes, so the fused step costs what the plain mat-vec costs.
void add_matmul_add(std::vector<KernelRow>& rows, DType w, DType x, const std::string& wx) {
  const std::string_view rows_name = intern("matmul/rows_add_" + wx);
  rows.push_back({{OpKind::matmul_add, w, x, KernelForm::vector},
                  KernelFamily::matmul_rows,
                  {rows_name, rows_requirements(w, x, 32, 1)},
                  32,
                  {32, 1, 1},
                  "decode + residual, CPU-class device: a row per invocation (as matmul/rows_*)",
                  RowWhen::cpu});
  rows.push_back({{OpKind::matmul_add, w, x, KernelForm::vector},
                  KernelFamily::matmul_rows,
                  {rows_name, rows_requirements(w, x, 64, 8)},
                  64,
                  {16, 8, 1},
                  "decode + residual, GPU: 8 lanes per row (as matmul/rows_*)",
                  RowWhen::gpu});
  rows.push_back({{OpKind::matmul_add, w, x, KernelForm::vector},
                  KernelFamily::matmul_matvec,
                  {intern("matmul/matvec_add_" + wx), requirements(w, x, 64, kReduceBytes)},
                  64,
                  {4},
                  "decode + residual without subgroup shuffles (as matmul/matvec_*)"});
  // The CPU-class row above whose last subgroup also runs the rms_norm_mul of the result
  // (lowering_add_norm.cpp): as the norm's one-subgroup row computes it, so subgroups of at least
  // its 8 invocations, with subgroupAdd.
  if (x != DType::F32) return;
  KernelRequirements with_norm = rows_requirements(w, x, 32, 1);
  with_norm.subgroup_ops |= VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  with_norm.needs_device_scope = true;
  rows.push_back({{OpKind::matmul_add, w, x, KernelForm::vector_norm},
                  KernelFamily::matmul_rows,
                  {intern("matmul/rows_add_norm_" + wx), with_norm},
                  32,
                  {32, 1, 1},
                  "decode + residual, then the rms_norm_mul of the result, CPU-class device: the norm "
                  "without a dispatch of its own",
                  RowWhen::cpu});
}

// matmul_cat and matmul_swiglu (one token): two or three matrices of one x in one dispatch, the
// row kernel compiled with CAT (a workgroup's rows lie in one matrix, picked from its group
// index) or SWIGLU (each invocation sums its row of the gate and of the up matrix). Same launch
// shapes as the plain mat-vec rows: the fused step reads what the separate steps read.
void add_matmul_group(std::vector<KernelRow>& rows, OpKind op, DType w, DType x, const std::string& wx) {
  const char* fused = op == OpKind::matmul_cat ? "cat" : "swiglu";
  const std::string_view name = intern(fmt::format("matmul/rows_{}_{}", fused, wx));
  rows.push_back({{op, w, x, KernelForm::vector},
                  KernelFamily::matmul_rows,
                  {name, rows_requirements(w, x, 32, 1)},
                  32,
                  {32, 1, 1},
                  "decode, several matrices, CPU-class device: a row per invocation (as matmul/rows_*)",
                  RowWhen::cpu});
  rows.push_back({{op, w, x, KernelForm::vector},
                  KernelFamily::matmul_rows,
                  {name, rows_requirements(w, x, 64, 8)},
                  64,
                  {16, 8, 1},
                  "decode, several matrices, GPU: 8 lanes per row (as matmul/rows_*)",
                  RowWhen::gpu});
  rows.push_back({{op, w, x, KernelForm::vector},
                  KernelFamily::matmul_matvec,
                  {intern(fmt::format("matmul/matvec_{}_{}", fused, wx)), requirements(w, x, 64, kReduceBytes)},
                  64,
                  {4},
                  "decode, several matrices, without subgroup shuffles (as matmul/matvec_*)"});
  // The CPU-class cat row above whose last subgroup also runs the rope of q and k and that rope's
  // cache writes (lowering_cat_rope.cpp; f16 caches, 16-bit storage as the rope's f16 row needs).
  if (op != OpKind::matmul_cat || x != DType::F32) return;
  KernelRequirements with_rope = rows_requirements(w, x, 32, 1);
  with_rope.needs_device_scope = true;
  with_rope.needs_storage_16bit = true;
  rows.push_back({{op, w, x, KernelForm::vector_rope},
                  KernelFamily::matmul_rows,
                  {intern("matmul/rows_cat_rope_" + wx), with_rope},
                  32,
                  {32, 1, 1},
                  "decode, q/k/v products, then the rope of q and k and the cache writes, CPU-class device: "
                  "the rope without a dispatch of its own",
                  RowWhen::cpu});
}

// The four matmul forms with low-rank tails (one token, f32 activations; LoRA adapters fused by
// engine/graph/pass_fusion.cpp): the decode kernels compiled with TAIL, same launch shapes as the
// plain ones, so the adapter adds its B rows' reads (r halves and r activations a row) to the
// mat-vec's and no dispatch.
void add_matmul_tail(std::vector<KernelRow>& rows, OpKind op, DType w) {
  const char* form = op == OpKind::matmul       ? ""
                     : op == OpKind::matmul_add ? "add_"
                     : op == OpKind::matmul_cat ? "cat_"
                                                : "swiglu_";
  const std::string_view name = intern(fmt::format("matmul/rows_{}tail_{}_f32", form, dtype_name(w)));
  rows.push_back({{op, w, F32, KernelForm::vector_tail},
                  KernelFamily::matmul_rows,
                  {name, rows_requirements(w, F16, 32, 1)},
                  32,
                  {32, 1, 1},
                  "decode with LoRA tails, CPU-class device: a row per invocation (as matmul/rows_*)",
                  RowWhen::cpu});
  rows.push_back({{op, w, F32, KernelForm::vector_tail},
                  KernelFamily::matmul_rows,
                  {name, rows_requirements(w, F16, 64, 8)},
                  64,
                  {16, 8, 1},
                  "decode with LoRA tails, GPU: 8 lanes per row (as matmul/rows_*)",
                  RowWhen::gpu});
  rows.push_back({{op, w, F32, KernelForm::vector_tail},
                  KernelFamily::matmul_matvec,
                  {intern(fmt::format("matmul/matvec_{}tail_{}_f32", form, dtype_name(w))),
                   requirements(w, F16, 64, kReduceBytes)},
                  64,
                  {4},
                  "decode with LoRA tails without subgroup shuffles (as matmul/matvec_*)"});
}

// Attention. Decode (one query row): split-K (shaders/attention/attention_split.comp), whose
// lowering (lowering_attention_split.cpp) cuts the cache into chunks only where the context is
// long enough to pay for the reduce pass, so a short decode stays one dispatch. Prefill: the
// tiled kernel (shaders/attention/attention_tiled.comp); the row's shared-memory figure is the
// budget the lowering sizes its tiles to (lowering_attention.cpp), so one shader serves every
// head dimension. On CPU-class devices prefill runs a query row per invocation instead
// (shaders/attention/attention_rows.comp), the tiled kernel only where that one does not fit.
void add_attention_rows(std::vector<KernelRow>& r) {
  // The direct split kernels (CPU-class devices) reduce over subgroups of at least 4 lanes with
  // subgroup arithmetic (8 heads x 16 subgroup sums of shared memory) and fold the value
  // owners' partial sums with shuffles.
  constexpr uint32_t subgroup_sums_shared = 8 * 16 * 4;
  const auto direct_requirements = [](DType kv, uint32_t shared) {
    KernelRequirements req = requirements(kv, F32, 64, shared + subgroup_sums_shared);
    req.subgroup_ops =
        VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT | VK_SUBGROUP_FEATURE_SHUFFLE_BIT;
    req.min_subgroup_size = 4;
    return req;
  };
  // The paged split kernel's shared memory: the split kernel's (below, without the key
  // rotation's frequencies) and the pool slot of each of its 64 positions.
  constexpr uint32_t paged_direct_shared =
      8 * 256 * 4 + std::max(shaders::split_stage::SPLIT_STAGE_FLOATS, 2u * 8 * 64) * 4 + 64 * 4 + 64 * 4;
  for (DType kv : {F32, F16}) {
    const bool f16 = kv == F16;
    // The batched engine's paged cache on a CPU-class device: the split kernel's direct variant
    // (PAGED_ATTENTION), each query row in workgroups of its own. The tiled kernel below spends
    // its time on barriers there (a lavapipe workgroup's barrier switches between its subgroups'
    // coroutines): smollm2-135m shapes, 8 decode tokens of 8 sequences at ~100 positions, 99 ms
    // of a step's 30 layers tiled against 48 ms direct (timestamps; docs/serving.md).
    r.push_back({{OpKind::paged_attention, kv, F32},
                 KernelFamily::attention_paged_direct,
                 {f16 ? "attention/paged_direct_kv_f16" : "attention/paged_direct_kv_f32",
                  direct_requirements(kv, paged_direct_shared)},
                 64,
                 {},
                 "paged cache, CPU-class device: a query row per workgroup, positions read through the table",
                 RowWhen::cpu});
    // The batched engine's paged cache (shaders/attention/paged_attention.comp): every query of a
    // step in one kernel, tiles sized to the row's shared memory (lowering_attention_paged.cpp).
    // 64 invocations = 8 subgroups of lavapipe's 8 lanes, as the tiled prefill kernel; 32 KiB
    // holds 30 rows (smollm2's 3 heads per kv head x 10 tokens) of 64 dimensions with key tiles
    // of 16; the 16 KiB row is for devices at the Vulkan minimum. Portable products only: the
    // scores and outputs of a row are then computed the same way whatever shares its tile,
    // which batch invariance rests on (a cooperative-matrix variant would need that shown).
    for (uint32_t shared : {32u * 1024, 16u * 1024}) {
      r.push_back({{OpKind::paged_attention, kv, F32},
                   KernelFamily::attention_paged,
                   {f16 ? "attention/paged_kv_f16" : "attention/paged_kv_f32", requirements(kv, F32, 64, shared)},
                   64,
                   {},
                   shared == 32 * 1024 ? "paged cache: every query of a batched step, portable tiles"
                                       : "paged cache on devices with the Vulkan minimum of 16 KiB shared memory"});
    }
    // 64 invocations (the shader's SPLIT_WG); shared memory: q of 8 heads x 256 dims, the key
    // stage (shaders/attention/split_key_stage.h) that the two 8 x 64 per-head arrays
    // (probabilities, reductions) share, the positions of 64 slots and the key rotation's 129
    // frequencies (attention/common.glsl). All of it inside the Vulkan minimums (128
    // invocations, 16 KiB), so the row runs on every device: one decode kernel, no fallback
    // needed. It reads K/V once per kv head for up to 8 query heads, where one workgroup per
    // (row, head) would read them once per query head.
    constexpr uint32_t split_work_floats = std::max(shaders::split_stage::SPLIT_STAGE_FLOATS, 2u * 8 * 64);
    // CPU-class devices: each slot's owner reads its own key (no stage). Coalescing buys a CPU
    // driver nothing, and the stage's barriers and shared-memory copies cost it (lavapipe,
    // vkgraph_bench_attention --depths 4096: 36.7 ms a run direct, 83.9 ms staged at
    // 9 heads x 64; 3.0 / 13.1 ms at 8 x 8). Same shared-memory figure: one source, one layout,
    // plus the subgroup sums of its reductions (direct_requirements).
    r.push_back({{OpKind::attention, kv, F32, KernelForm::attention_decode},
                 KernelFamily::attention_split,
                 {f16 ? "attention/split_direct_kv_f16" : "attention/split_direct_kv_f32",
                  direct_requirements(kv, 8 * 256 * 4 + split_work_floats * 4 + 64 * 4 + 129 * 4)},
                 64,
                 {},
                 "decode, CPU-class device: split-K, each slot's key read by its owner (no stage)",
                 RowWhen::cpu});
    r.push_back({{OpKind::attention, kv, F32, KernelForm::attention_decode},
                 KernelFamily::attention_split,
                 {f16 ? "attention/split_kv_f16" : "attention/split_kv_f32",
                  requirements(kv, F32, 64, 8 * 256 * 4 + split_work_floats * 4 + 64 * 4 + 129 * 4)},
                 64,
                 {},
                 "decode: split-K over the cache (flash-decoding), K/V read once per kv head"});

    if (!f16) {
      // The reduce pass of split-K decode: one workgroup per (token, head), 64 invocations over
      // the head dimension; the chunks' partials are f32 whatever the cache type.
      r.push_back({{OpKind::attention, F32, F32, KernelForm::attention_split_reduce},
                   KernelFamily::attention_reduce,
                   {"attention/split_reduce", requirements(F32, F32, 64, 0)},
                   64,
                   {},
                   "split-K decode: combines the chunks' partial softmaxes"});
    }
    const char* portable = f16 ? "attention/tiled_kv_f16" : "attention/tiled_kv_f32";
    const char* coopmat = f16 ? "attention/tiled_coopmat_kv_f16" : "attention/tiled_coopmat_kv_f32";
    // The device's f16 x f16 + f32 -> f32 subgroup shape (8 or 16 each way, as specialization
    // constants: shaders/common/tile_coopmat.glsl). 128 invocations: 4 subgroups of 32 (NVIDIA,
    // Intel) or 2 of 64 (AMD) share the tile products. 48 KiB: the shared memory NVIDIA gives a
    // compute shader by default, and the least any cooperative-matrix GPU reports.
    KernelRequirements coop = requirements(kv, F32, 128, 48 * 1024);
    coop.coopmat = CoopMatShape{0, 0, 0};
    coop.needs_fp16 = true;
    coop.needs_storage_16bit = true;
    coop.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;
    r.push_back({{OpKind::attention, kv, F32, KernelForm::attention_tiled16},
                 KernelFamily::attention_tiled,
                 {coopmat, coop},
                 128,
                 {},
                 "prefill: cooperative-matrix tile products at the device's f16 shape"});
    // The same kernel over the emulation (VKGRAPH_EMULATE_COOPMAT; CI on lavapipe): 64
    // invocations and a 24 KiB tile budget (16 x 16 tiles up to head_dim 128), so the tiles and
    // the emulation's scratch (8 KiB at 8 subgroups of 8 lanes) fit lavapipe's 32 KiB; with 4
    // lanes (16 KiB of scratch) the row does not fit and the portable one runs.
    KernelRequirements emu = requirements(kv, F32, 64, 24 * 1024);
    emu.coopmat = CoopMatShape{0, 0, 0};
    emu.coopmat_emulated = true;
    emu.needs_fp16 = true;
    emu.needs_storage_16bit = true;
    emu.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;
    r.push_back({{OpKind::attention, kv, F32, KernelForm::attention_tiled16},
                 KernelFamily::attention_tiled,
                 {f16 ? "attention/tiled_coopmat_emu_kv_f16" : "attention/tiled_coopmat_emu_kv_f32", emu},
                 64,
                 {},
                 "prefill: the cooperative-matrix kernel over the emulation (VKGRAPH_EMULATE_COOPMAT)"});
    for (KernelForm form : {KernelForm::attention_tiled16, KernelForm::attention_tiled}) {
      // Prefill on CPU-class devices (shaders/attention/attention_rows.comp): a query row per
      // invocation, keys and values broadcast from the first 8 lanes of a subgroup, no shared
      // memory products and no barrier. The tiled kernel below spends a lavapipe workgroup's time
      // on its barriers and shared-memory products: 128 query rows of 8 heads (2 kv heads) of 64
      // dimensions, causal, 38.0 ms tiled against 2.5 ms (`vkgraph bench --kernel`). Heads past
      // 128 (register arrays) and unaligned bindings are left to the tiled row
      // (lowering_attention_rows.cpp). Shared memory: the key rotation's frequencies
      // (attention/common.glsl).
      KernelRequirements cpu_rows = requirements(kv, F32, 64, 129 * 4);
      cpu_rows.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_BALLOT_BIT |
                              VK_SUBGROUP_FEATURE_SHUFFLE_BIT | VK_SUBGROUP_FEATURE_VOTE_BIT |
                              VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
      cpu_rows.min_subgroup_size = 8;
      r.push_back({{OpKind::attention, kv, F32, form},
                   KernelFamily::attention_rows,
                   {f16 ? "attention/rows_kv_f16" : "attention/rows_kv_f32", cpu_rows},
                   64,
                   {},
                   "prefill, CPU-class device: a query row per invocation, keys and values broadcast",
                   RowWhen::cpu});
      // 64 invocations = 8 subgroups of lavapipe's 8 lanes; 32 KiB: lavapipe's and most GPUs'
      // shared memory, where BR=32 x BC=16 tiles fit for head_dim <= 128.
      r.push_back({{OpKind::attention, kv, F32, form},
                   KernelFamily::attention_tiled,
                   {portable, requirements(kv, F32, 64, 32 * 1024)},
                   64,
                   {},
                   "prefill: portable shared-memory tiles"});
      r.push_back({{OpKind::attention, kv, F32, form},
                   KernelFamily::attention_tiled,
                   {portable, requirements(kv, F32, 64, 16 * 1024)},
                   64,
                   {},
                   "prefill on devices with the Vulkan minimum of 16 KiB shared memory: smaller tiles"});
    }
  }
}

std::vector<KernelRow> build_table() {
  std::vector<KernelRow> r;
  add_elementwise(r, {OpKind::add, F32, F32}, "elementwise/add_f32");
  add_elementwise(r, {OpKind::mul, F32, F32}, "elementwise/mul_f32");
  add_elementwise(r, {OpKind::scale, F32}, "elementwise/scale_f32");
  add_elementwise(r, {OpKind::silu, F32}, "elementwise/silu_f32");
  add_elementwise(r, {OpKind::gelu, F32}, "elementwise/gelu_f32");
  add_elementwise(r, {OpKind::softcap, F32}, "elementwise/softcap_f32");
  add_elementwise(r, {OpKind::swiglu, F32, F32}, "elementwise/swiglu_f32");
  add_elementwise(r, {OpKind::convert, F32, F16}, "elementwise/convert_f32_f16");
  add_elementwise(r, {OpKind::convert, F16, F32}, "elementwise/convert_f16_f32");
  add_elementwise(r, {OpKind::convert, F32, F32}, "elementwise/copy_f32");
  add_elementwise(r, {OpKind::convert, F16, F16}, "elementwise/copy_f16");

  add_norm_rows(r, {OpKind::rms_norm, F32}, "norm/rms_norm_f32", "norm/rms_norm_subgroup_f32");
  add_norm_rows(r, {OpKind::rms_norm_mul, F32, F32}, "norm/rms_norm_mul_f32", "norm/rms_norm_mul_subgroup_f32");
  // One token, one workgroup; reads f16 low-rank matrices (+ its partial sums and the delta's t).
  // Tile: invocations per row of a low-rank matrix (spec constant LANES). A row per invocation
  // needs 64 (the largest rank, pass_low_rank_norm.cpp), and fewer invocations are fewer SIMD
  // chunks for a CPU driver to switch between at each barrier.
  for (const auto& [invocations, lanes, when, why] :
       {std::tuple{64u, 1u, RowWhen::cpu, "decode with LoRA adapters, CPU-class device: a low-rank row per invocation"},
        std::tuple{128u, 0u, RowWhen::gpu,
                   "decode with LoRA adapters, GPU: the workgroup's lanes split each low-rank row"}}) {
    r.push_back({{OpKind::rms_norm_low_rank, F32, F32},
                 KernelFamily::row_reduction,
                 {"norm/rms_norm_low_rank_f32", requirements(F16, F32, invocations, 2 * kReduceBytes + 64 * 4)},
                 invocations,
                 {lanes},
                 why,
                 when});
  }
  add_row_kernel(r, {OpKind::softmax, F32}, "softmax/softmax_f32");
  add_row_kernel(r, {OpKind::argmax, F32}, "argmax/argmax_f32", kReduceBytes);  // + the index array

  add_elementwise(r, {OpKind::rope, F32, I32, KernelForm::rope_normal}, "rope/rope_normal_f32", KernelFamily::rope);
  add_elementwise(r, {OpKind::rope, F32, I32, KernelForm::rope_neox}, "rope/rope_neox_f32", KernelFamily::rope);
  // A rope with the cache writes next to it (lowering_rope_kv.cpp), b the caches' type: on lavapipe
  // a dispatch costs tens of microseconds whatever it does, and a decode step has three of these
  // small ones per layer.
  for (DType cache : {F32, F16}) {
    const std::string type(dtype_name(cache));
    add_elementwise(r, {OpKind::rope, F32, cache, KernelForm::rope_normal_kv}, intern("rope/rope_kv_normal_" + type),
                    KernelFamily::rope_kv);
    add_elementwise(r, {OpKind::rope, F32, cache, KernelForm::rope_neox_kv}, intern("rope/rope_kv_neox_" + type),
                    KernelFamily::rope_kv);
  }

  // Weight types with Vulkan kernels: the vk_matmul rows of engine/core/weight_types.def.
  for (DType w : vulkan_weight_types(vk_matmul)) {
    for (DType x : {F32, F16}) add_matmul(r, w, x, fmt::format("{}_{}", dtype_name(w), dtype_name(x)));
  }
  for (DType w : vulkan_weight_types(vk_matmul)) {
    for (DType x : {F32, F16}) {
      const std::string wx = fmt::format("{}_{}", dtype_name(w), dtype_name(x));
      add_matmul_add(r, w, x, wx);
      add_matmul_group(r, OpKind::matmul_cat, w, x, wx);
      add_matmul_group(r, OpKind::matmul_swiglu, w, x, wx);
    }
    for (OpKind op : {OpKind::matmul, OpKind::matmul_add, OpKind::matmul_cat, OpKind::matmul_swiglu}) {
      add_matmul_tail(r, op, w);
    }
  }

  for (DType t : vulkan_weight_types(vk_matmul)) {
    add_elementwise(r, {OpKind::get_rows, t, I32}, intern(fmt::format("get_rows/get_rows_{}", dtype_name(t))),
                    KernelFamily::get_rows);
  }

  add_elementwise(r, {OpKind::kv_write, F32, F32}, "kv/kv_write_f32_f32", KernelFamily::kv_write);
  add_elementwise(r, {OpKind::kv_write, F32, F16}, "kv/kv_write_f32_f16", KernelFamily::kv_write);

  add_attention_rows(r);
  return r;
}

}  // namespace

const char* kernel_family_name(KernelFamily family) {
  switch (family) {
    case KernelFamily::elementwise:
      return "elementwise";
    case KernelFamily::row_reduction:
      return "row_reduction";
    case KernelFamily::rope:
      return "rope";
    case KernelFamily::rope_kv:
      return "rope_kv";
    case KernelFamily::get_rows:
      return "get_rows";
    case KernelFamily::kv_write:
      return "kv_write";
    case KernelFamily::matmul_matvec:
      return "matmul_matvec";
    case KernelFamily::matmul_rows:
      return "matmul_rows";
    case KernelFamily::matmul_rows_tokens:
      return "matmul_rows_tokens";
    case KernelFamily::matmul_dot8:
      return "matmul_dot8";
    case KernelFamily::matmul_tiled:
      return "matmul_tiled";
    case KernelFamily::attention_split:
      return "attention_split";
    case KernelFamily::attention_reduce:
      return "attention_reduce";
    case KernelFamily::attention_tiled:
      return "attention_tiled";
    case KernelFamily::attention_rows:
      return "attention_rows";
    case KernelFamily::attention_paged:
      return "attention_paged";
    case KernelFamily::attention_paged_direct:
      return "attention_paged_direct";
  }
  return "?";
}

const char* kernel_form_name(KernelForm form) {
  switch (form) {
    case KernelForm::any:
      return "any";
    case KernelForm::vector:
      return "vector";
    case KernelForm::vector_tail:
      return "vector_tail";
    case KernelForm::vector_norm:
      return "vector_norm";
    case KernelForm::vector_rope:
      return "vector_rope";
    case KernelForm::matrix:
      return "matrix";
    case KernelForm::rope_normal:
      return "normal";
    case KernelForm::rope_neox:
      return "neox";
    case KernelForm::rope_normal_kv:
      return "normal_kv";
    case KernelForm::rope_neox_kv:
      return "neox_kv";
    case KernelForm::attention_decode:
      return "decode";
    case KernelForm::attention_tiled:
      return "tiled";
    case KernelForm::attention_tiled16:
      return "tiled16";
    case KernelForm::attention_split_reduce:
      return "split_reduce";
  }
  return "?";
}

std::string kernel_key_string(const KernelKey& key) {
  std::string s = fmt::format("{}({}, {}", op_name(key.op), dtype_name(key.a), dtype_name(key.b));
  if (key.form != KernelForm::any) s += fmt::format(", {}", kernel_form_name(key.form));
  return s + ")";
}

std::span<const KernelRow> kernel_table() {
  static const std::vector<KernelRow> table = build_table();
  return table;
}

KernelKey kernel_key(const Graph& graph, const Node& node) {
  auto in = [&](size_t i) { return graph.node(node.inputs.at(i)).dtype; };
  KernelKey key{node.op};
  switch (node.op) {
    case OpKind::matmul:
    case OpKind::matmul_add: {
      key.a = in(0);
      key.b = in(1);
      // The activations' rows: everything but the last dimension of x. Decode rows keep the
      // one-token kernels for any count (Graph::decode_rows).
      const Shape& x = graph.node(node.inputs[1]).shape;
      key.form = element_count(x) == x.back() || graph.decode_rows() ? KernelForm::vector : KernelForm::matrix;
      if (node.params.tails.mask != 0) key.form = KernelForm::vector_tail;
      break;
    }
    case OpKind::matmul_cat:       // inputs w_0.., x (then tails)
    case OpKind::matmul_swiglu: {  // inputs w_gate, w_up, x (then tails)
      const TensorId x_id = node.inputs[base_input_count(node) - 1];
      key.a = in(0);
      key.b = graph.node(x_id).dtype;
      const Shape& x = graph.node(x_id).shape;
      key.form = element_count(x) == x.back() || graph.decode_rows() ? KernelForm::vector : KernelForm::matrix;
      if (node.params.tails.mask != 0) key.form = KernelForm::vector_tail;
      break;
    }
    case OpKind::get_rows:
    case OpKind::rope:
      key.a = in(0);
      key.b = in(1);
      if (node.op == OpKind::rope) {
        key.form = node.params.rope.mode == RopeMode::neox ? KernelForm::rope_neox : KernelForm::rope_normal;
      }
      break;
    case OpKind::kv_write:  // inputs: cache, src, slots
      key.a = in(1);
      key.b = in(0);
      break;
    case OpKind::attention:  // inputs: q, k, v, q_pos, kv_pos
      key.a = in(1);
      key.b = in(0);
      VKGRAPH_CHECK(in(1) == in(2), "attention '{}': k is {} but v is {}; the kernels need one cache type", node.name,
                    dtype_name(in(1)), dtype_name(in(2)));
      if (node.shape[0] == 1 || graph.decode_rows()) {
        key.form = KernelForm::attention_decode;
      } else {
        // Cooperative-matrix tiles are 16 wide along the head dimension.
        key.form = node.shape[2] % 16 == 0 ? KernelForm::attention_tiled16 : KernelForm::attention_tiled;
      }
      break;
    case OpKind::paged_attention:  // inputs: q, k, v, block_table, seq_rows, q_pos
      key.a = in(1);
      key.b = in(0);
      VKGRAPH_CHECK(in(1) == in(2), "paged_attention '{}': k is {} but v is {}; the kernels need one pool type",
                    node.name, dtype_name(in(1)), dtype_name(in(2)));
      break;
    case OpKind::convert:
      key.a = in(0);
      key.b = node.params.dtype;
      break;
    case OpKind::add:
    case OpKind::mul:
    case OpKind::swiglu:
    case OpKind::rms_norm_mul:
    case OpKind::rms_norm_low_rank:
      key.a = in(0);
      key.b = in(1);
      break;
    default:
      if (!node.inputs.empty()) key.a = in(0);
      break;
  }
  return key;
}

namespace {

std::string shader_at_when(const KernelRow& row) {
  return fmt::format("{}@{}", row.variant.shader, row_when_name(row.when));
}

// kernel_row_name of every row, in table order.
const std::vector<std::string>& row_names() {
  static const std::vector<std::string> names = [] {
    const std::span<const KernelRow> table = kernel_table();
    std::vector<std::string> out;
    for (const KernelRow& row : table) {
      std::string name(row.variant.shader);
      if (row.when != RowWhen::always) name += fmt::format("@{}", row_when_name(row.when));
      size_t same = 0, index = 0;
      for (const KernelRow& other : table) {
        if (other.variant.shader == row.variant.shader && other.when == row.when) {
          if (&other == &row) index = same;
          ++same;
        }
      }
      if (same > 1) name += fmt::format("#{}", index);
      out.push_back(std::move(name));
    }
    return out;
  }();
  return names;
}

// Whether `selector` names `row`: its name, its shader, or "shader@when".
bool selects(std::string_view selector, const KernelRow& row) {
  return selector == row.variant.shader || selector == shader_at_when(row) || selector == kernel_row_name(row);
}

std::mutex forced_mutex;
std::vector<std::string> forced_shaders;  // see ForcedKernels

bool is_forced(const KernelRow& row) {
  std::lock_guard lock(forced_mutex);
  for (const std::string& f : forced_shaders) {
    if (selects(f, row)) return true;
  }
  return false;
}

}  // namespace

std::string kernel_row_name(const KernelRow& row) {
  const std::span<const KernelRow> table = kernel_table();
  VKGRAPH_CHECK(&row >= table.data() && &row < table.data() + table.size(),
                "kernel row of '{}' is not a row of the kernel table", row.variant.shader);
  return row_names()[size_t(&row - table.data())];
}

std::vector<const KernelRow*> find_kernel_rows(std::string_view selector) {
  std::vector<const KernelRow*> rows;
  for (const KernelRow& row : kernel_table()) {
    if (selects(selector, row)) rows.push_back(&row);
  }
  return rows;
}

const char* row_when_name(RowWhen when) {
  switch (when) {
    case RowWhen::always:
      return "always";
    case RowWhen::cpu:
      return "cpu";
    case RowWhen::gpu:
      return "gpu";
    case RowWhen::int8_dot_fast:
      return "int8_dot_fast";
  }
  return "?";
}

bool row_applies(RowWhen when, const DeviceInfo& device) {
  switch (when) {
    case RowWhen::always:
      return true;
    case RowWhen::cpu:
      return device.is_cpu();
    case RowWhen::gpu:
      return !device.is_cpu();
    case RowWhen::int8_dot_fast:
      return device.integer_dot_product && device.int8_dot_accelerated;
  }
  return false;
}

ForcedKernels::ForcedKernels(std::vector<std::string> shaders) {
  std::lock_guard lock(forced_mutex);
  previous_ = std::exchange(forced_shaders, std::move(shaders));
}

ForcedKernels::~ForcedKernels() {
  std::lock_guard lock(forced_mutex);
  forced_shaders = std::move(previous_);
}

bool kernel_row_forced(const KernelRow& row) { return is_forced(row); }

const KernelRow& select_kernel_row(const DeviceInfo& device, const KernelKey& key) {
  return select_kernel_row(device, key, [](const KernelRow&) { return true; });
}

const KernelRow& select_kernel_row(const DeviceInfo& device, const KernelKey& key,
                                   const std::function<bool(const KernelRow&)>& usable) {
  std::vector<const KernelRow*> rows;
  std::vector<KernelVariant> candidates;
  std::string skipped;
  bool any = false;
  // Forced rows first (in table order), then the rows meant for this device.
  for (int pass = 0; pass < 2; ++pass) {
    for (const KernelRow& row : kernel_table()) {
      if (!(row.key == key)) continue;
      any = true;
      if (!usable(row)) {
        if (pass == 0)
          skipped +=
              fmt::format("\n{}: skipped (its pipeline failed to build on this driver, or it cannot launch this node)",
                          row.variant.shader);
        continue;
      }
      const bool forced = is_forced(row);
      if (pass == 0 && forced) {
        rows.push_back(&row);
        candidates.push_back(row.variant);
      } else if (pass == 1 && !forced) {
        if (row_applies(row.when, device)) {
          rows.push_back(&row);
          candidates.push_back(row.variant);
        } else {
          skipped += fmt::format("\n{}: meant for {} devices", row.variant.shader, row_when_name(row.when));
        }
      }
    }
  }
  if (!any) {
    // A weight type the table lists with no Vulkan shaders (engine/core/weight_types.def).
    const std::string no_shaders =
        (key.op == OpKind::matmul || key.op == OpKind::matmul_add || key.op == OpKind::matmul_cat ||
         key.op == OpKind::matmul_swiglu || key.op == OpKind::get_rows) &&
                dtype_info(key.a).vulkan == vk_none && is_weight_type(key.a)
            ? fmt::format(" ({} weights have no Vulkan kernels yet; the cpu backend runs them)", dtype_name(key.a))
            : "";
    fail("no Vulkan kernel for {}: the kernel table has no row with these types{}", kernel_key_string(key), no_shaders);
  }
  std::string why_not;
  const KernelVariant* chosen = select_kernel(device, candidates, &why_not);
  if (chosen == nullptr) {
    fail("device '{}' can run no kernel for {}:\n{}{}", device.name, kernel_key_string(key), why_not, skipped);
  }
  return *rows[size_t(chosen - candidates.data())];
}

}  // namespace vkgraph::vk
