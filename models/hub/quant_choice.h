#pragma once
// Which GGUF file of a repository `-hf ORG/REPO[:QUANT]` means, by the rule llama.cpp documents
// for its -hf, so a name picks the same file in both:
//   - only model files count: names ending in .gguf, without mmproj, imatrix or a draft-model
//     marker (mtp-, eagle3-, dflash-, dspark-) in the file name, and of a split model only
//     its first part;
//   - with QUANT: the first such file (in path order) whose path holds QUANT, in any case,
//     followed by '.' or '-' ("Model-Q4_K_M.gguf", "Q4_K_M/Model-Q4_K_M-00001-of-00002.gguf").
//     Unlike llama.cpp, the character before QUANT must not be a letter or digit, so Q2_K
//     never picks IQ2_K;
//   - without QUANT: Q4_K_M, else Q8_0, else the first model file.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vkgraph::hub {

inline constexpr std::string_view kDefaultQuants[] = {"Q4_K_M", "Q8_0"};

// A file that can be a model (not a projector, importance matrix or draft head).
bool is_model_gguf(std::string_view path);

// Whether `path` carries the quant tag (the rule above).
bool path_has_quant(std::string_view path, std::string_view quant);

// The quant a file name carries, as llama.cpp lists them: the last '-' or '.' separated part of
// the name without .gguf and without a split suffix, upper-cased ("Model-Q4_K_M.gguf" -> "Q4_K_M");
// "" when there is none.
std::string quant_tag(std::string_view path);

// The chosen file among `files` (repository paths, any order); std::nullopt when none fits.
// `fall_back_to_first`: without a quant, take the first model file when neither default quant is
// there (true for a full repository listing; false for a partial one such as the cache holds,
// where "the first" would depend on what happened to be downloaded).
std::optional<std::string> choose_model_file(std::vector<std::string> files, std::string_view quant,
                                             bool fall_back_to_first = true);

// Every part of the split model whose first part is `first`, in order, from `files`; {first}
// for a single file. Throws a HubError (not_found) naming a part the list lacks.
std::vector<std::string> split_parts(const std::vector<std::string>& files, const std::string& first);

// The quants the model files of `files` carry (their file names when they carry none), sorted,
// each once: what an error lists when a quant is not there.
std::vector<std::string> available_quants(const std::vector<std::string>& files);

}  // namespace vkgraph::hub
