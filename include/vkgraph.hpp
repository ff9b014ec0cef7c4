// vkgraph for C++: RAII owners of the C handles (include/vkgraph.h), errors as exceptions.
// Header-only; links against the same libvkgraph.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vkgraph.h"

namespace vkgraph::cpp {

// A failed call: the status and vkgraph_last_error()'s message.
class Error : public std::runtime_error {
 public:
  Error(vkgraph_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  vkgraph_status status() const { return status_; }

 private:
  vkgraph_status status_;
};

inline void check(vkgraph_status status) {
  if (status != VKGRAPH_OK) throw Error(status, std::string(vkgraph_status_name(status)) + ": " + vkgraph_last_error());
}

namespace detail {
struct ModelFree {
  void operator()(vkgraph_model* m) const { vkgraph_model_free(m); }
};
struct ContextFree {
  void operator()(vkgraph_context* c) const { vkgraph_context_free(c); }
};
struct SamplerFree {
  void operator()(vkgraph_sampler* s) const { vkgraph_sampler_free(s); }
};
struct AdapterFree {
  void operator()(vkgraph_adapter* a) const { vkgraph_adapter_free(a); }
};
}  // namespace detail

class Model {
 public:
  // An empty path loads the bundled default model.
  explicit Model(const std::string& path = {}, const vkgraph_model_params& params = vkgraph_model_default_params()) {
    vkgraph_model* m = nullptr;
    check(vkgraph_model_load(path.empty() ? nullptr : path.c_str(), &params, &m));
    handle_.reset(m);
  }
  vkgraph_model* get() const { return handle_.get(); }

  std::vector<vkgraph_token> tokenize(std::string_view text, bool add_bos = true, bool parse_special = true) const {
    size_t n = 0;
    vkgraph_tokenize(get(), text.data(), text.size(), add_bos, parse_special, nullptr, 0, &n);
    std::vector<vkgraph_token> ids(n);
    check(vkgraph_tokenize(get(), text.data(), text.size(), add_bos, parse_special, ids.data(), ids.size(), &n));
    return ids;
  }
  std::string detokenize(const std::vector<vkgraph_token>& ids) const {
    size_t len = 0;
    vkgraph_detokenize(get(), ids.data(), ids.size(), nullptr, 0, &len);
    std::string text(len + 1, '\0');
    check(vkgraph_detokenize(get(), ids.data(), ids.size(), text.data(), text.size(), &len));
    text.resize(len);
    return text;
  }
  // The pooled, L2-normalized embedding of a text's tokens (vkgraph_embed).
  std::vector<float> embed(const std::vector<vkgraph_token>& ids, vkgraph_pooling pooling = VKGRAPH_POOLING_DEFAULT) {
    size_t n = 0;
    vkgraph_embed(get(), ids.data(), ids.size(), pooling, nullptr, 0, &n);
    std::vector<float> v(n);
    check(vkgraph_embed(get(), ids.data(), ids.size(), pooling, v.data(), v.size(), &n));
    return v;
  }

 private:
  std::unique_ptr<vkgraph_model, detail::ModelFree> handle_;
};

// The local path of a model from the Hugging Face Hub ("ORG/REPO:Q4_K_M"), downloaded into the
// shared cache when it is not there (vkgraph_hub_resolve); give it to Model.
inline std::string hub_resolve(const std::string& name,
                               const vkgraph_hub_params& params = vkgraph_hub_default_params()) {
  std::string path(4096, '\0');
  size_t length = 0;
  check(vkgraph_hub_resolve(name.c_str(), &params, path.data(), path.size(), &length));
  path.resize(length);
  return path;
}

class Sampler {
 public:
  explicit Sampler(const vkgraph_sampler_params& params = vkgraph_sampler_default_params()) {
    vkgraph_sampler* s = nullptr;
    check(vkgraph_sampler_create(&params, &s));
    handle_.reset(s);
  }
  static Sampler greedy() {
    vkgraph_sampler_params p = vkgraph_sampler_default_params();
    p.temperature = 0;
    return Sampler(p);
  }
  vkgraph_sampler* get() const { return handle_.get(); }

 private:
  std::unique_ptr<vkgraph_sampler, detail::SamplerFree> handle_;
};

// A LoRA adapter loaded for one model (free it before the model, or let the model free it).
class Adapter {
 public:
  Adapter(const Model& model, const std::string& path) {
    vkgraph_adapter* a = nullptr;
    check(vkgraph_adapter_load(model.get(), path.c_str(), &a));
    handle_.reset(a);
  }
  vkgraph_adapter* get() const { return handle_.get(); }

 private:
  std::unique_ptr<vkgraph_adapter, detail::AdapterFree> handle_;
};

// One conversation's KV cache. Keep its Model alive longer than the Context.
class Context {
 public:
  explicit Context(const Model& model, const vkgraph_context_params& params = vkgraph_context_default_params()) {
    vkgraph_context* c = nullptr;
    check(vkgraph_context_create(model.get(), &params, &c));
    handle_.reset(c);
  }
  vkgraph_context* get() const { return handle_.get(); }

  // on_piece returns false to stop. Returns why generation ended.
  vkgraph_stop_reason generate(Sampler& sampler, const std::vector<vkgraph_token>& prompt,
                               const std::function<bool(std::string_view)>& on_piece,
                               const vkgraph_generate_params& params = vkgraph_generate_default_params()) {
    vkgraph_stop_reason stop{};
    const auto trampoline = [](vkgraph_token, const char* piece, size_t len, void* user) -> int {
      try {
        return (*static_cast<const std::function<bool(std::string_view)>*>(user))(std::string_view(piece, len)) ? 0 : 1;
      } catch (...) {
        return 1;  // an exception may not cross the C library: stop instead
      }
    };
    check(vkgraph_generate(get(), sampler.get(), prompt.data(), prompt.size(), &params, trampoline,
                           const_cast<std::function<bool(std::string_view)>*>(&on_piece), &stop));
    return stop;
  }
  // The adapters applied from the next evaluation on, each with its scale ({} for none).
  void set_adapters(const std::vector<std::pair<const Adapter*, float>>& adapters) {
    std::vector<vkgraph_adapter_scale> list;
    for (const auto& [adapter, scale] : adapters) list.push_back({adapter->get(), scale});
    check(vkgraph_context_set_adapters(get(), list.data(), list.size()));
  }
  void cancel() { vkgraph_context_cancel(get()); }  // from any thread
  void reset() { check(vkgraph_context_reset(get())); }
  vkgraph_timings timings() const {
    vkgraph_timings t{};
    check(vkgraph_context_timings(get(), &t));
    return t;
  }

 private:
  std::unique_ptr<vkgraph_context, detail::ContextFree> handle_;
};

}  // namespace vkgraph::cpp
