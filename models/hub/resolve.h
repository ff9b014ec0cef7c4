#pragma once
// `-hf ORG/REPO[:QUANT]` to a local GGUF path: what run, chat, bench, pull and the C API call.
//
// Without `refresh` the cache is asked first: when refs/main's snapshot holds the file the name
// means (the named file or quant, or without a quant a Q4_K_M file, the rule's first choice), it
// is used and no request is made, so a model fetched once (by us, huggingface_hub or llama.cpp)
// starts with no network. Otherwise the Hub lists the repository, the quant rule picks the file
// (quant_choice.h), every part of a split model is downloaded (blob_download.h) and linked into
// snapshots/<commit>/, and refs/main is updated. When the Hub cannot be reached, a file the cache
// holds is used with a warning. Offline (HF_HUB_OFFLINE=1) only the cache is asked, with the full
// rule over what it holds.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "models/hub/blob_download.h"
#include "models/hub/hub_config.h"
#include "models/hub/model_name.h"

namespace vkgraph::hub {

struct ResolveOptions {
  // Ask the Hub for main's newest commit even when the cache has the file (`vkgraph pull`).
  bool refresh = false;
  ProgressFn progress;  // may be empty; returning false stops like keep_going
  // Asked at least once a second while the Hub is asked or a file downloads (may be empty);
  // false stops with a HubError of kind cancelled, keeping a partial file for the next run.
  std::function<bool()> keep_going;
};

struct ResolvedModel {
  std::string repo;
  std::string commit;
  std::vector<std::string> files;  // repository paths: one, or every part of a split model
  std::string path;                // the local path to load: the snapshot link of files[0]
  uint64_t downloaded_bytes = 0;   // transferred by this call
  uint64_t size_bytes = 0;         // of all parts
  bool from_cache_only = false;    // no request was made
};

ResolvedModel resolve_model(const ModelName& name, const HubConfig& config, const ResolveOptions& options = {});

}  // namespace vkgraph::hub
