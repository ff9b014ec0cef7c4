#pragma once
// Where the Hugging Face Hub is and where its files are kept, from the variables that
// huggingface_hub, llama.cpp and other tools read, so every tool shares one cache and one login:
//   HF_ENDPOINT          the server (default https://huggingface.co)
//   HF_HUB_CACHE         the cache folder; else $HF_HOME/hub; HF_HOME defaults to
//                        $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
//   HF_TOKEN             the access token; else the token file $HF_TOKEN_PATH, else $HF_HOME/token
//                        (what `hf auth login` writes)
//   HF_HUB_OFFLINE=1     no network: only what the cache holds
// (The older names HUGGINGFACE_HUB_CACHE and HUGGING_FACE_HUB_TOKEN are read too, after the new.)

#include <string>

namespace vkgraph::hub {

struct HubConfig {
  std::string endpoint = "https://huggingface.co";  // without a trailing '/'
  std::string cache_dir;                            // holds the models--ORG--REPO folders
  std::string token;                                // "" = none
  std::string token_source;                         // where the token came from, for messages
  std::string token_file;                           // where a token file is looked for
  bool offline = false;

  static HubConfig from_environment();
};

// Whether an HF_HUB_OFFLINE-style value means "on": 1, on, yes, true (any case).
bool env_flag_is_true(const char* value);

}  // namespace vkgraph::hub
