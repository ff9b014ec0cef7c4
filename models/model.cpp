#include "models/model.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <map>

#include "engine/core/error.h"
#include "engine/core/log.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_split.h"
#include "models/quantize.h"
#include "models/tokenizer/tokenizer.h"
#include "models/weight_check.h"

namespace vkgraph::models {
namespace {

// The name of ModelWeights::rope_attn_scale, a tensor made at load rather than read from the file.
constexpr const char* kRopeAttnScale = "(rope.scaling.attn_factor squared on the rotated dimensions)";

// Hparams::rope_attn_factor squared on the first n_rot dimensions of a head (the rotated ones)
// and 1 on the rest, as f32 bytes.
std::vector<std::byte> rope_attn_scale_bytes(const Hparams& hp) {
  std::vector<float> scale(size_t(hp.head_dim), 1.0f);
  for (int32_t d = 0; d < hp.rope.n_rot; ++d) scale[size_t(d)] = hp.rope_attn_factor * hp.rope_attn_factor;
  std::vector<std::byte> bytes(scale.size() * sizeof(float));
  std::memcpy(bytes.data(), scale.data(), bytes.size());
  return bytes;
}

// Collects the tensors a model needs, checking each one's shape against the hyperparameters
// before anything is uploaded, so a broken file fails fast and names the tensor.
class WeightLoader {
 public:
  WeightLoader(const gguf::GgufFile& file, const std::string& path) : file_(file), path_(path) {}

  WeightTensor require(const std::string& name, const Shape& expected) {
    const gguf::TensorInfo* info = file_.find_tensor(name);
    VKGRAPH_CHECK(info != nullptr, "{}: tensor '{}' is missing", path_, name);
    return take(*info, expected);
  }
  WeightTensor optional(const std::string& name, const Shape& expected) {
    const gguf::TensorInfo* info = file_.find_tensor(name);
    return info ? take(*info, expected) : WeightTensor{};
  }
  // Rows [first, first + rows) of a fused matrix (Phi-3's attn_qkv and gate+up ffn_up) as a
  // tensor of its own, named "<name>[first:end]": uploaded alone, so every builder sees plain
  // projections. The file's tensor must be [total_rows, cols].
  WeightTensor rows_of(const std::string& name, int64_t total_rows, int64_t cols, int64_t first, int64_t rows) {
    const gguf::TensorInfo* info = file_.find_tensor(name);
    VKGRAPH_CHECK(info != nullptr, "{}: tensor '{}' is missing", path_, name);
    VKGRAPH_CHECK(info->shape == Shape({total_rows, cols}), "{}: tensor '{}' has shape [{}], expected [{}, {}]", path_,
                  name, fmt::join(info->shape, ", "), total_rows, cols);
    if (std::find(wanted_.begin(), wanted_.end(), info) == wanted_.end()) take(*info, {total_rows, cols});
    WeightTensor part{fmt::format("{}[{}:{}]", name, first, first + rows), info->type, {rows, cols}, nullptr};
    slices_[name].push_back({part.name, first, rows});
    return part;
  }
  struct Slice {
    std::string name;
    int64_t first, rows;
  };
  // The row ranges of `name` uploaded as tensors of their own; empty: the tensor is uploaded whole.
  std::vector<Slice> slices_of(const std::string& name) const {
    const auto it = slices_.find(name);
    return it == slices_.end() ? std::vector<Slice>{} : it->second;
  }
  const std::vector<const gguf::TensorInfo*>& wanted() const { return wanted_; }

 private:
  WeightTensor take(const gguf::TensorInfo& info, const Shape& expected) {
    VKGRAPH_CHECK(info.shape == expected, "{}: tensor '{}' has shape [{}], expected [{}]", path_, info.name,
                  fmt::join(info.shape, ", "), fmt::join(expected, ", "));
    // Norm weights and biases are applied elementwise in f32.
    VKGRAPH_CHECK(expected.size() == 2 || info.type == DType::F32, "{}: tensor '{}' is {}, expected f32", path_,
                  info.name, dtype_name(info.type));
    if (expected.size() == 2 && dtype_info(info.type).quantized) {
      VKGRAPH_CHECK(expected[1] % int64_t(dtype_info(info.type).block_elements) == 0,
                    "{}: tensor '{}' rows of {} do not fill {} blocks", path_, info.name, expected[1],
                    dtype_name(info.type));
    }
    wanted_.push_back(&info);
    return WeightTensor{info.name, info.type, info.shape, nullptr};
  }
  const gguf::GgufFile& file_;
  const std::string& path_;
  std::vector<const gguf::TensorInfo*> wanted_;
  std::map<std::string, std::vector<Slice>> slices_;
};

ModelWeights describe_weights(WeightLoader& loader, const Hparams& hp) {
  const int64_t e = hp.n_embd, q = hp.n_head * hp.head_dim, kv = hp.n_head_kv * hp.head_dim;
  ModelWeights w;
  w.tok_embd = loader.require("token_embd.weight", {hp.n_vocab, e});
  w.output_norm = loader.require("output_norm.weight", {e});
  if (!hp.tied_output) w.output = loader.require("output.weight", {hp.n_vocab, e});
  // Llama 3.1+ (llama.cpp's LLM_TENSOR_ROPE_FREQS): one set of factors shared by every layer's
  // rotation of q and k, theta of pair i divided by factor i.
  w.rope_freqs = loader.optional("rope_freqs.weight", {hp.rope.n_rot / 2});
  // Phi-3.5 / Phi-4-mini (llama.cpp's LLM_TENSOR_ROPE_FACTORS_LONG/SHORT), one pair for every
  // layer; read_hparams checked that both or neither are there.
  w.rope_factors_long = loader.optional("rope_factors_long.weight", {hp.rope.n_rot / 2});
  w.rope_factors_short = loader.optional("rope_factors_short.weight", {hp.rope.n_rot / 2});
  if (hp.rope_attn_factor != 1.0f) w.rope_attn_scale = WeightTensor{kRopeAttnScale, DType::F32, {hp.head_dim}, nullptr};
  for (int64_t il = 0; il < hp.n_layer; ++il) {
    const auto t = [il](const char* name) { return fmt::format("blk.{}.{}", il, name); };
    LayerWeights L;
    L.attn_norm = loader.require(t("attn_norm.weight"), {e});
    if (hp.fused_projections) {  // phi3: attn_qkv is q, k and v's rows one after the other
      L.wq = loader.rows_of(t("attn_qkv.weight"), q + 2 * kv, e, 0, q);
      L.wk = loader.rows_of(t("attn_qkv.weight"), q + 2 * kv, e, q, kv);
      L.wv = loader.rows_of(t("attn_qkv.weight"), q + 2 * kv, e, q + kv, kv);
    } else {
      L.wq = loader.require(t("attn_q.weight"), {q, e});
      L.wk = loader.require(t("attn_k.weight"), {kv, e});
      L.wv = loader.require(t("attn_v.weight"), {kv, e});
    }
    L.wo = loader.require(t("attn_output.weight"), {e, q});
    if (hp.qkv_bias) {
      L.bq = loader.require(t("attn_q.bias"), {q});
      L.bk = loader.require(t("attn_k.bias"), {kv});
      L.bv = loader.require(t("attn_v.bias"), {kv});
    }
    if (hp.qk_norm) {
      L.q_norm = loader.require(t("attn_q_norm.weight"), {hp.head_dim});
      L.k_norm = loader.require(t("attn_k_norm.weight"), {hp.head_dim});
    }
    L.ffn_norm = loader.require(t("ffn_norm.weight"), {e});
    if (hp.post_norms) {  // gemma (llama.cpp's LLM_TENSOR_ATTN_POST_NORM and LLM_TENSOR_FFN_POST_NORM)
      L.attn_post_norm = loader.require(t("post_attention_norm.weight"), {e});
      L.ffn_post_norm = loader.require(t("post_ffw_norm.weight"), {e});
    }
    if (hp.fused_projections) {
      // phi3: ffn_up is gate then up (llama.cpp's ggml_swiglu of the fused product applies SiLU
      // to its first half).
      L.w_gate = loader.rows_of(t("ffn_up.weight"), 2 * hp.n_ff, e, 0, hp.n_ff);
      L.w_up = loader.rows_of(t("ffn_up.weight"), 2 * hp.n_ff, e, hp.n_ff, hp.n_ff);
    } else {
      L.w_gate = loader.require(t("ffn_gate.weight"), {hp.n_ff, e});
      L.w_up = loader.require(t("ffn_up.weight"), {hp.n_ff, e});
    }
    L.w_down = loader.require(t("ffn_down.weight"), {e, hp.n_ff});
    w.layers.push_back(std::move(L));
  }
  return w;
}

// Refuses a tensor holding NaN or infinities, naming it: see models/weight_check.h for what each
// depth reads. Vectors (norms, biases) are a few KiB, so they are always read whole; matrices
// by their block scales, or whole with `full` (--check-tensors).
void check_finite(const gguf::TensorInfo& info, std::span<const std::byte> data, bool full, const std::string& path) {
  const auto elements = size_t(info.elements);
  const std::optional<NonFinite> found =
      full || info.shape.size() == 1 ? scan_values(info.type, data, elements) : scan_scales(info.type, data, elements);
  VKGRAPH_CHECK(!found, "{}: tensor '{}' ({}) {}: the file's weights are corrupt and cannot be run", path, info.name,
                dtype_name(info.type), describe(*found));
}

}  // namespace

Model::~Model() = default;

std::unique_ptr<Model> Model::load(const std::string& path, Backend& backend, const LoadOptions& options) {
  // A split model's first part brings its other parts (models/gguf/gguf_split.h).
  const gguf::GgufFile file = gguf::open_split_model(path);
  std::unique_ptr<Model> model(new Model());
  model->path_ = path;
  model->hparams_ = read_hparams(file, path);
  model->tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_gguf(file));
  VKGRAPH_CHECK(model->tokenizer_->vocab_size() == size_t(model->hparams_.n_vocab),
                "{}: the tokenizer has {} tokens but token_embd.weight has {} rows", path,
                model->tokenizer_->vocab_size(), model->hparams_.n_vocab);
  model->chat_template_ = file.find_string("tokenizer.chat_template").value_or("");

  WeightLoader loader(file, path);
  model->weights_ = describe_weights(loader, model->hparams_);

  LoadProgress progress;
  progress.tensors_total = loader.wanted().size();
  for (const auto* info : loader.wanted()) progress.bytes_total += info->bytes;

  // The conversion each tensor gets (its own type when none), decided for the whole model at
  // once: the mixes depend on the layer count and on which matrices exist.
  const QuantScheme* scheme = options.weights ? &find_quant_scheme(*options.weights, "--weights") : nullptr;
  std::vector<TensorChoice> choices;
  if (scheme != nullptr) {
    MixModel mix = mix_model_of(file);
    mix.n_layer = model->hparams_.n_layer;
    mix.n_head = model->hparams_.n_head;
    mix.n_head_kv = model->hparams_.n_head_kv;
    mix.tied_output = model->hparams_.tied_output;
    choices = choose_tensor_types(*scheme, mix, describe_tensors(loader.wanted()));
  }

  // A device too small for the weights refuses them here, before any upload, naming the sizes.
  std::vector<WeightSize> sizes;
  for (size_t i = 0; i < loader.wanted().size(); ++i) {
    const gguf::TensorInfo* info = loader.wanted()[i];
    const bool converted_here = scheme != nullptr && choices[i].converted;
    sizes.push_back(
        {info->name, converted_here ? row_bytes(choices[i].type, size_t(info->elements)) : size_t(info->bytes)});
  }
  backend.check_weights_fit(sizes);

  // Adapters to merge are opened and checked against the weights before anything is uploaded.
  const LoraMerger merger(options.merge_adapters, model->hparams_, model->weights_);

  // Upload each tensor once (converted or merged first when asked); a tied output shares the
  // embedding's storage.
  std::map<std::string, std::shared_ptr<Storage>> uploaded;
  std::map<std::string, DType> uploaded_type;
  std::map<std::string, size_t> bytes_by_type;
  size_t converted = 0, vectors_kept = 0, merged = 0;
  for (size_t i = 0; i < loader.wanted().size(); ++i) {
    const gguf::TensorInfo* info = loader.wanted()[i];
    check_finite(*info, file.data(*info), options.check_tensors, path);
    DType type = info->type;
    std::vector<std::byte> packed;  // the bytes to upload when they are not the file's
    if (scheme != nullptr) {
      const TensorChoice& choice = choices[i];
      if (!choice.converted) {
        if (info->shape.size() != 2) {
          vectors_kept++;
        } else if (info->type == scheme->base) {
          log::info("{}: '{}' is already {}", path, info->name, dtype_name(info->type));
        } else {
          log::warn("{}: '{}' stays {}: {}", path, info->name, dtype_name(info->type), choice.reason);
        }
      } else {
        if (!choice.reason.empty())
          log::info("{}: '{}' becomes {}: {}", path, info->name, dtype_name(choice.type), choice.reason);
        type = choice.type;
        converted++;
      }
    }
    if (merger.adapts(info->name)) {
      packed = pack_rows(type, merger.merged(*info, file.data(*info)), info->shape[0], info->shape[1]);
      merged++;
    } else if (type != info->type) {
      packed = quantize_tensor(*info, file.data(*info), type);
    }
    const size_t bytes = packed.empty() ? size_t(info->bytes) : packed.size();
    const std::span<const std::byte> data = packed.empty() ? file.data(*info) : std::span<const std::byte>(packed);
    const auto slices = loader.slices_of(info->name);
    if (slices.empty()) {
      uploaded[info->name] = backend.upload(data);
      uploaded_type[info->name] = type;
    }
    // A fused matrix: its row ranges go up as tensors of their own.
    const size_t row = info->shape.size() == 2 ? row_bytes(type, size_t(info->shape[1])) : 0;
    for (const auto& part : slices) {
      uploaded[part.name] = backend.upload(data.subspan(size_t(part.first) * row, size_t(part.rows) * row));
      uploaded_type[part.name] = type;
    }
    model->weight_bytes_ += bytes;
    model->parameter_count_ += size_t(info->elements);
    bytes_by_type[std::string(dtype_name(type))] += bytes;
    progress.tensors_done++;
    progress.bytes_done += info->bytes;
    if (options.progress && !options.progress(progress)) fail("{}: loading was cancelled", path);
  }
  if (scheme != nullptr) {
    log::info("{}: converted {} of {} tensors to {} while loading; {} norm and bias vectors stay f32", path, converted,
              loader.wanted().size(), scheme->name, vectors_kept);
  }
  if (merger.adapter_count() > 0) {
    log::info("{}: merged {} LoRA adapter(s) into {} matrices (each stored back in its own type)", path,
              merger.adapter_count(), merged);
  }
  if (model->weights_.rope_attn_scale.name == kRopeAttnScale) {
    uploaded[kRopeAttnScale] = backend.upload(rope_attn_scale_bytes(model->hparams_));
    uploaded_type[kRopeAttnScale] = DType::F32;
  }
  for_each_weight(model->weights_, [&](WeightTensor& t) {
    if (t.name.empty()) return;
    t.storage = uploaded.at(t.name);
    t.dtype = uploaded_type.at(t.name);
  });
  if (model->hparams_.tied_output) model->weights_.output = model->weights_.tok_embd;

  size_t most = 0;
  for (const auto& [type, bytes] : bytes_by_type) {
    if (bytes > most) {
      most = bytes;
      model->weight_type_ = type;
    }
  }
  const Hparams& hp = model->hparams_;
  log::info("{}: {} ({}), {} layers, {} heads ({} KV), head dim {}, vocab {}, {:.1f} MiB of {} weights", path, hp.name,
            hp.arch, hp.n_layer, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_vocab,
            double(model->weight_bytes_) / (1 << 20), model->weight_type_);
  return model;
}

}  // namespace vkgraph::models
