// Model files that are valid GGUF but not a usable model: each is refused with a message that
// names the problem, before anything runs.

#include <fmt/format.h>
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <functional>

#include "engine/backend/registry.h"
#include "engine/core/error.h"
#include "models/gguf/gguf_reader.h"
#include "models/gguf/gguf_writer.h"
#include "models/model.h"
#include "shared_files.h"
#include "temp_dir.h"

using namespace vkgraph;
using Catch::Matchers::ContainsSubstring;

namespace {

// Rewrites stories260K.gguf with metadata and tensors passed through the edit functions.
// A metadata edit returns false to drop the key; a tensor edit may change the shape or drop it.
struct Edit {
  std::function<bool(const std::string& key, gguf::Value& value)> metadata = [](const std::string&, gguf::Value&) {
    return true;
  };
  std::function<bool(const std::string& name, std::vector<int64_t>& shape, std::vector<std::byte>& bytes)> tensor =
      [](const std::string&, std::vector<int64_t>&, std::vector<std::byte>&) { return true; };
};

std::string rewrite(const testing::TempDir& dir, const Edit& edit) {
  const auto file = gguf::GgufFile::open(testing::shared_file("models/stories260K.gguf"));
  gguf::GgufWriter writer(file.alignment());
  for (const auto& entry : file.metadata()) {
    if (entry.key == "general.alignment") continue;
    gguf::Value value = entry.value;
    if (edit.metadata(entry.key, value)) writer.set(entry.key, value);
  }
  for (const auto& t : file.tensors()) {
    std::vector<int64_t> shape = t.shape;
    const auto data = file.data(t);
    std::vector<std::byte> bytes(data.begin(), data.end());
    if (edit.tensor(t.name, shape, bytes)) writer.add_tensor(t.name, t.type, shape, std::move(bytes));
  }
  const std::string path = dir.file("edited.gguf");
  writer.write(path);
  return path;
}

std::string load_error(const std::string& path) {
  auto backend = create_backend("cpu", "");
  try {
    models::Model::load(path, *backend);
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded without error)";
}

}  // namespace

TEST_CASE("an unmodified copy loads", "[model][loading]") {
  testing::TempDir dir;
  const std::string path = rewrite(dir, {});
  auto backend = create_backend("cpu", "");
  const auto model = models::Model::load(path, *backend);
  CHECK(model->hparams().n_layer == 5);
  CHECK(model->hparams().n_head_kv == 4);
  CHECK(model->hparams().n_vocab == 512);
  CHECK(model->hparams().head_dim == 8);
}

TEST_CASE("an unsupported architecture is refused by name with the supported list", "[model][loading]") {
  // mamba (no attention), gemma3n and a vision tower (clip) are not transformers this engine
  // builds; each is refused before any weight is read.
  for (const char* arch : {"mamba", "gemma3n", "clip"}) {
    testing::TempDir dir;
    Edit edit;
    edit.metadata = [arch](const std::string& key, gguf::Value& value) {
      if (key == "general.architecture") value = std::string(arch);
      return true;
    };
    const std::string error = load_error(rewrite(dir, edit));
    CHECK_THAT(error, ContainsSubstring(fmt::format("architecture '{}' is not supported", arch)));
    CHECK_THAT(error, ContainsSubstring("(supported: llama, mistral, qwen2, qwen3, phi3, gemma2, gemma3)"));
  }
}

TEST_CASE("a missing tensor is named", "[model][loading]") {
  testing::TempDir dir;
  Edit edit;
  edit.tensor = [](const std::string& name, std::vector<int64_t>&, std::vector<std::byte>&) {
    return name != "blk.3.ffn_up.weight";
  };
  CHECK_THAT(load_error(rewrite(dir, edit)), ContainsSubstring("tensor 'blk.3.ffn_up.weight' is missing"));
}

TEST_CASE("a tensor of the wrong shape is named with both shapes", "[model][loading]") {
  testing::TempDir dir;
  Edit edit;
  edit.tensor = [](const std::string& name, std::vector<int64_t>& shape, std::vector<std::byte>&) {
    if (name == "blk.1.attn_k.weight") std::swap(shape[0], shape[1]);  // [32, 64] -> [64, 32]
    return true;
  };
  const std::string message = load_error(rewrite(dir, edit));
  CHECK_THAT(message, ContainsSubstring("blk.1.attn_k.weight"));
  CHECK_THAT(message, ContainsSubstring("expected [32, 64]"));
}

TEST_CASE("a missing hyperparameter is named", "[model][loading]") {
  testing::TempDir dir;
  Edit edit;
  edit.metadata = [](const std::string& key, gguf::Value&) { return key != "llama.block_count"; };
  CHECK_THAT(load_error(rewrite(dir, edit)), ContainsSubstring("llama.block_count"));
}

TEST_CASE("heads that cannot share KV heads evenly are refused", "[model][loading]") {
  testing::TempDir dir;
  Edit edit;
  edit.metadata = [](const std::string& key, gguf::Value& value) {
    if (key == "llama.attention.head_count_kv") value = uint32_t(3);
    return true;
  };
  CHECK_THAT(load_error(rewrite(dir, edit)), ContainsSubstring("cannot share 3 KV heads"));
}
