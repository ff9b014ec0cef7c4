#pragma once
// A model named the way llama.cpp's -hf and the Hugging Face Hub name it:
//   ORG/REPO              the repository's default quant (see quant_choice.h)
//   ORG/REPO:QUANT        the file whose name carries QUANT (Q4_K_M, q8_0, UD-Q4_K_XL; any case)
//   ORG/REPO/PATH.gguf    that file of the repository (PATH may have folders)

#include <string>
#include <string_view>

namespace vkgraph::hub {

struct ModelName {
  std::string repo;   // "ORG/REPO"
  std::string quant;  // "" = the default choice
  std::string file;   // a path inside the repository; "" = chosen by quant

  // As a person would write it again: "org/repo:Q4_K_M", "org/repo/file.gguf", "org/repo".
  std::string text() const;
};

// Throws a HubError (invalid_name) saying which part is wrong and what the forms are.
ModelName parse_model_name(std::string_view text);

// The Hub's rules for a repository id ORG/REPO: each half of letters, digits, '-', '_', '.',
// neither starting nor ending with '-' or '.', no "--" or "..", 96 characters in all at most.
bool is_valid_repo_id(std::string_view repo);

// A relative path inside a repository that stays inside it: no empty, "." or ".." part, no
// leading '/', no backslash or control character.
bool is_safe_repo_path(std::string_view path);

}  // namespace vkgraph::hub
