#include "models/hub/model_name.h"

#include <cctype>
#include <vector>

#include "models/hub/hub_error.h"

namespace vkgraph::hub {
namespace {

constexpr const char* kForms =
    "expected ORG/REPO, ORG/REPO:QUANT or ORG/REPO/FILE.gguf (e.g. bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M)";

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' || c == '.';
}

bool is_valid_repo_half(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_name_char(c)) return false;
  }
  if (s.front() == '-' || s.front() == '.' || s.back() == '-' || s.back() == '.') return false;
  return s.find("--") == std::string_view::npos && s.find("..") == std::string_view::npos;
}

bool is_valid_quant(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_' && c != '-') return false;
  }
  return true;
}

bool ends_with_gguf(std::string_view s) {
  if (s.size() < 5) return false;
  std::string tail(s.substr(s.size() - 5));
  for (char& c : tail) c = char(std::tolower(static_cast<unsigned char>(c)));
  return tail == ".gguf";
}

}  // namespace

bool is_valid_repo_id(std::string_view repo) {
  // 96 characters: the Hub's limit on a repository id (huggingface_hub's validate_repo_id).
  if (repo.size() > 96) return false;
  const size_t slash = repo.find('/');
  if (slash == std::string_view::npos || repo.find('/', slash + 1) != std::string_view::npos) return false;
  return is_valid_repo_half(repo.substr(0, slash)) && is_valid_repo_half(repo.substr(slash + 1));
}

bool is_safe_repo_path(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  for (char c : path) {
    if (c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

std::string ModelName::text() const {
  if (!file.empty()) return repo + "/" + file;
  if (!quant.empty()) return repo + ":" + quant;
  return repo;
}

ModelName parse_model_name(std::string_view text) {
  ModelName name;
  std::string_view rest = text;
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    name.quant = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (name.quant.find('/') != std::string::npos) {
      hub_fail(HubErrorKind::invalid_name, "-hf '{}': give a quant or a file, not both ({})", text, kForms);
    }
    if (!is_valid_quant(name.quant)) {
      hub_fail(HubErrorKind::invalid_name, "-hf '{}': the quant '{}' may hold only letters, digits, '_' and '-' ({})",
               text, name.quant, kForms);
    }
  }
  const size_t first = rest.find('/');
  const size_t second = first == std::string_view::npos ? first : rest.find('/', first + 1);
  name.repo = std::string(rest.substr(0, second));
  if (second != std::string_view::npos) name.file = std::string(rest.substr(second + 1));
  if (!is_valid_repo_id(name.repo)) {
    hub_fail(HubErrorKind::invalid_name,
             "-hf '{}': '{}' is not a repository id ({}; an id is ORG/NAME of letters, digits, '-', '_' and '.')", text,
             name.repo, kForms);
  }
  if (second != std::string_view::npos) {
    if (!name.quant.empty()) {
      hub_fail(HubErrorKind::invalid_name, "-hf '{}': give a quant or a file, not both ({})", text, kForms);
    }
    if (!is_safe_repo_path(name.file) || !ends_with_gguf(name.file)) {
      hub_fail(HubErrorKind::invalid_name, "-hf '{}': '{}' is not the path of a .gguf file in the repository ({})",
               text, name.file, kForms);
    }
  }
  return name;
}

}  // namespace vkgraph::hub
