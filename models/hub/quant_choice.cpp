#include "models/hub/quant_choice.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "models/gguf/gguf_split.h"
#include "models/hub/hub_error.h"

namespace vkgraph::hub {
namespace {

char upper(char c) { return char(std::toupper(static_cast<unsigned char>(c))); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::string_view file_name(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Part 1 of a split model, or not split at all.
bool is_first_part(std::string_view path) {
  const auto split = gguf::parse_split_name(path);
  return !split || split->part == 1;
}

}  // namespace

bool is_model_gguf(std::string_view path) {
  if (!ends_with(path, ".gguf")) return false;
  const std::string_view name = file_name(path);
  for (std::string_view marker : {"mmproj", "imatrix", "mtp-", "eagle3-", "dflash-", "dspark-"}) {
    if (name.find(marker) != std::string_view::npos) return false;
  }
  return true;
}

bool path_has_quant(std::string_view path, std::string_view quant) {
  if (quant.empty() || quant.size() >= path.size()) return false;
  for (size_t at = 0; at + quant.size() < path.size(); ++at) {
    bool same = true;
    for (size_t i = 0; i < quant.size() && same; ++i) same = upper(path[at + i]) == upper(quant[i]);
    if (!same) continue;
    const char after = path[at + quant.size()];
    const bool starts_word = at == 0 || !is_alnum(path[at - 1]);
    if ((after == '.' || after == '-') && starts_word) return true;
  }
  return false;
}

std::string quant_tag(std::string_view path) {
  std::string_view stem = file_name(path);
  if (!ends_with(stem, ".gguf")) return "";
  if (const auto split = gguf::parse_split_name(stem)) {
    stem = stem.substr(0, split->prefix.size());
  } else {
    stem.remove_suffix(5);
  }
  const size_t sep = stem.find_last_of("-.");
  if (sep == std::string_view::npos || sep + 1 == stem.size()) return "";
  std::string tag(stem.substr(sep + 1));
  for (char& c : tag) {
    if (!is_alnum(c) && c != '_') return "";
    c = upper(c);
  }
  return tag;
}

std::optional<std::string> choose_model_file(std::vector<std::string> files, std::string_view quant,
                                             bool fall_back_to_first) {
  std::sort(files.begin(), files.end());
  const auto candidate = [](const std::string& f) { return is_model_gguf(f) && is_first_part(f); };
  std::vector<std::string_view> wanted;
  if (!quant.empty()) {
    wanted.push_back(quant);
  } else {
    wanted.assign(std::begin(kDefaultQuants), std::end(kDefaultQuants));
  }
  for (std::string_view q : wanted) {
    for (const std::string& f : files) {
      if (candidate(f) && path_has_quant(f, q)) return f;
    }
  }
  if (quant.empty() && fall_back_to_first) {
    for (const std::string& f : files) {
      if (candidate(f)) return f;
    }
  }
  return std::nullopt;
}

std::vector<std::string> split_parts(const std::vector<std::string>& files, const std::string& first) {
  const auto split = gguf::parse_split_name(first);
  if (!split) return {first};
  std::vector<std::string> parts;
  for (int i = 1; i <= split->count; ++i) {
    std::string part = gguf::split_part_name(split->prefix, i, split->count);
    if (std::find(files.begin(), files.end(), part) == files.end()) {
      hub_fail(HubErrorKind::not_found, "{} is part 1 of a split model of {} parts, but part {} ({}) is not there",
               first, split->count, i, part);
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

std::vector<std::string> available_quants(const std::vector<std::string>& files) {
  std::set<std::string> quants;
  for (const std::string& f : files) {
    if (!is_model_gguf(f) || !is_first_part(f)) continue;
    const std::string tag = quant_tag(f);
    quants.insert(tag.empty() ? f : tag);
  }
  return {quants.begin(), quants.end()};
}

}  // namespace vkgraph::hub
