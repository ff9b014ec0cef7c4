#pragma once
// Bench results as text: a Markdown table a person can paste (`-o md`), CSV, a JSON array, or
// JSON lines (one row object per line). With per-op profiles, md and csv add a second table and
// the JSON rows carry them under "ops".

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "cli/bench/bench_row.h"

namespace vkgraph::bench {

enum class OutputFormat { md, csv, json, jsonl };

// "md", "csv", "json" or "jsonl"; Error naming the flag and the choices otherwise.
OutputFormat parse_output_format(const std::string& name);

nlohmann::json row_json(const BenchRow& row);

std::string format_rows(const std::vector<BenchRow>& rows, OutputFormat format);

// "76.45 MiB", "134.52 M", "1.23 GB/s": the units llama-bench uses.
std::string format_size(uint64_t bytes);
std::string format_count(uint64_t n);

}  // namespace vkgraph::bench
