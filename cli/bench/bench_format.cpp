#include "cli/bench/bench_format.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <tuple>
#include <utility>

#include "engine/core/error.h"

namespace vkgraph::bench {
namespace {

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

nlohmann::json ops_json(const OpProfile& p) {
  nlohmann::json ops = nlohmann::json::array();
  for (const OpShare& o : p.ops) {
    ops.push_back({{"op", o.op},
                   {"kernel", o.kernel},
                   {"dispatches", o.dispatches},
                   {"ms", o.ms},
                   {"share", o.share},
                   {"bytes", o.bytes},
                   {"gb_per_s", o.gb_per_s}});
  }
  return {{"n_tokens", p.n_tokens}, {"step_ms", p.step_ms}, {"untimed_step_ms", p.untimed_step_ms},
          {"ops_ms", p.ops_ms},     {"runs", p.runs},       {"ops", ops}};
}

// Markdown cells must not contain '|'.
std::string cell(std::string s) {
  for (char& c : s) {
    if (c == '|') c = '/';
  }
  return s;
}

// CSV fields are quoted when they contain a separator, a quote or a line break (RFC 4180).
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string csv_number(double v) { return fmt::format("{:.6g}", v); }
std::string csv_optional(const std::optional<double>& v) { return v ? csv_number(*v) : std::string(); }

// The driver's own description says more than its version number where it has one (Mesa's
// drivers report 0.0.1 and put the Mesa release in driverInfo).
std::string driver_cell(const DeviceReport& d) {
  if (d.driver_info.empty() && d.driver_version == d.driver) return d.driver;  // "n/a"
  return d.driver + " " + (d.driver_info.empty() ? d.driver_version : d.driver_info);
}

std::string roofline_cell(const BenchRow& r) {
  if (r.effective_bytes_per_second) {
    std::string s = fmt::format("{:.2f} GB/s", *r.effective_bytes_per_second / 1e9);
    if (r.probe_percent) {
      s += fmt::format(" ({:.1f}% of {:.1f})", *r.probe_percent, r.device.probe_bytes_per_second / 1e9);
    }
    return s;
  }
  if (r.flops_per_second) return fmt::format("{:.2f} GFLOP/s", *r.flops_per_second / 1e9);
  return "";
}

// One profile per (model, device, depth, step size): tg rows of several lengths share theirs.
std::vector<const BenchRow*> profiled_rows(const std::vector<BenchRow>& rows) {
  std::vector<const BenchRow*> out;
  // The name as well as the path: a model measured with and without LoRA adapters is two models.
  std::map<std::tuple<std::string, std::string, std::string, int64_t, int64_t>, bool> seen;
  for (const BenchRow& r : rows) {
    if (!r.ops) continue;
    if (seen.emplace(std::make_tuple(r.model.path + "\n" + r.model.name, r.device.backend, r.device.selector, r.depth,
                                     r.ops->n_tokens),
                     true)
            .second) {
      out.push_back(&r);
    }
  }
  return out;
}

// The decode-step overheads of tg rows, one line per (model, device, depth).
std::string decode_costs_md(const std::vector<BenchRow>& rows) {
  std::string out;
  std::map<std::tuple<std::string, std::string, std::string, int64_t>, bool> seen;
  for (const BenchRow& r : rows) {
    if (!r.decode) continue;
    if (!seen.emplace(std::make_tuple(r.model.path + "\n" + r.model.name, r.device.backend, r.device.selector, r.depth),
                      true)
             .second)
      continue;
    const DecodeStepCosts& c = *r.decode;
    if (out.empty()) {
      out =
          "\ndecode step (fastest of the runs): bytes read (the kernels' estimates) against the weight + K/V bytes it "
          "must read (target <= 1.2x); host time (inputs, submission, logits readback) as a share of the step "
          "(target < 5%)\n\n"
          "| model | backend | device | depth | bytes read | bytes needed | ratio | host ms | step ms | host % |\n"
          "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n";
    }
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {:.3f} | {} |\n", cell(r.model.name),
                       r.device.backend, cell(r.device.name), r.depth,
                       c.bytes_read ? format_size(uint64_t(*c.bytes_read)) : std::string("n/a"),
                       format_size(uint64_t(c.bytes_needed)),
                       c.bytes_ratio ? fmt::format("{:.3f}", *c.bytes_ratio) : std::string("n/a"),
                       c.host_ms ? fmt::format("{:.3f}", *c.host_ms) : std::string("n/a"), c.step_ms,
                       c.host_percent ? fmt::format("{:.2f}%", *c.host_percent) : std::string("n/a"));
  }
  return out;
}

std::string format_md(const std::vector<BenchRow>& rows) {
  std::string out =
      "| model | type | size | params | backend | device | vendor | driver | api | matmul | attention | test | t/s "
      "| roofline |\n"
      "| --- | --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- | ---: | ---: | ---: |\n";
  for (const BenchRow& r : rows) {
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2f} ± {:.2f} | {} |\n",
                       cell(r.model.name), r.model.weight_type, format_size(r.model.size_bytes),
                       format_count(r.model.params), r.device.backend, cell(r.device.name), cell(r.device.vendor),
                       cell(driver_cell(r.device)), r.device.api_version, r.device.matmul_path, r.device.attention_path,
                       r.label(), r.ts_mean, r.ts_stddev, roofline_cell(r));
  }
  if (!rows.empty()) {
    out += fmt::format(
        "\nbuild: {} ({}); roofline: tg = bytes read per token x t/s and its share of the copy probe "
        "(read + write bytes/s); pp = FLOP/s (2 x matmul params + attention, per token)\n",
        rows.front().build_version, rows.front().build_commit);
  }
  out += decode_costs_md(rows);
  for (const BenchRow* r : profiled_rows(rows)) {
    const OpProfile& p = *r->ops;
    out += fmt::format(
        "\nper-op profile: {} on {} ({}), {} @ d{}, fastest of {} runs\n\n", cell(r->model.name), cell(r->device.name),
        r->device.backend,
        p.n_tokens == 1 ? std::string("one decode step") : fmt::format("one {}-token prompt step", p.n_tokens),
        r->depth, p.runs);
    if (p.ops.empty()) {
      out += "no per-op timings: this backend or device has no timestamp queries\n";
      continue;
    }
    out += "| op | kernel | dispatches | ms | share | GB/s |\n| --- | --- | ---: | ---: | ---: | ---: |\n";
    int dispatches = 0;
    for (const OpShare& o : p.ops) {
      out += fmt::format("| {} | {} | {} | {:.3f} | {:.1f}% | {:.2f} |\n", o.op, o.kernel, o.dispatches, o.ms,
                         100.0 * o.share, o.gb_per_s);
      dispatches += o.dispatches;
    }
    out += fmt::format("| sum of ops | | {} | {:.3f} | {:.1f}% | |\n", dispatches, p.ops_ms,
                       p.step_ms > 0.0 ? 100.0 * p.ops_ms / p.step_ms : 0.0);
    out += fmt::format("| step (wall) | | | {:.3f} | 100.0% | |\n", p.step_ms);
    out += fmt::format("| step without timestamps (wall) | | | {:.3f} | {:.1f}% | |\n", p.untimed_step_ms,
                       p.step_ms > 0.0 ? 100.0 * p.untimed_step_ms / p.step_ms : 0.0);
  }
  return out;
}

std::string format_csv(const std::vector<BenchRow>& rows) {
  std::string out =
      "model,model_path,weight_type,size_bytes,params,backend,device,vendor,driver,driver_version,api_version,"
      "driver_info,matmul_path,attention_path,build_version,build_commit,test,n_prompt,n_gen,depth,reps,ts_mean,ts_"
      "stddev,"
      "bytes_per_token,effective_bytes_per_second,probe_bytes_per_second,probe_percent,flops_per_token,"
      "flops_per_second,decode_bytes_ratio,decode_host_percent\n";
  for (const BenchRow& r : rows) {
    const std::vector<std::string> fields = {
        csv_field(r.model.name),
        csv_field(r.model.path),
        r.model.weight_type,
        std::to_string(r.model.size_bytes),
        std::to_string(r.model.params),
        r.device.backend,
        csv_field(r.device.name),
        csv_field(r.device.vendor),
        csv_field(r.device.driver),
        csv_field(r.device.driver_version),
        r.device.api_version,
        csv_field(r.device.driver_info),
        r.device.matmul_path,
        r.device.attention_path,
        csv_field(r.build_version),
        csv_field(r.build_commit),
        r.test,
        std::to_string(r.n_prompt),
        std::to_string(r.n_gen),
        std::to_string(r.depth),
        std::to_string(r.reps),
        csv_number(r.ts_mean),
        csv_number(r.ts_stddev),
        csv_optional(r.bytes_per_token),
        csv_optional(r.effective_bytes_per_second),
        r.device.probe_bytes_per_second > 0.0 ? csv_number(r.device.probe_bytes_per_second) : std::string(),
        csv_optional(r.probe_percent),
        csv_optional(r.flops_per_token),
        csv_optional(r.flops_per_second),
        r.decode ? csv_optional(r.decode->bytes_ratio) : std::string(),
        r.decode ? csv_optional(r.decode->host_percent) : std::string()};
    out += fmt::format("{}\n", fmt::join(fields, ","));
  }
  const std::vector<const BenchRow*> profiled = profiled_rows(rows);
  if (!profiled.empty()) {
    out +=
        "\nmodel,backend,device,depth,n_tokens,op,kernel,dispatches,ms,share,bytes,gb_per_s,step_ms,untimed_step_ms,"
        "ops_ms\n";
    for (const BenchRow* r : profiled) {
      for (const OpShare& o : r->ops->ops) {
        out +=
            fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", csv_field(r->model.name), r->device.backend,
                        csv_field(r->device.name), r->depth, r->ops->n_tokens, o.op, csv_field(o.kernel), o.dispatches,
                        csv_number(o.ms), csv_number(o.share), csv_number(o.bytes), csv_number(o.gb_per_s),
                        csv_number(r->ops->step_ms), csv_number(r->ops->untimed_step_ms), csv_number(r->ops->ops_ms));
      }
    }
  }
  return out;
}

}  // namespace

OutputFormat parse_output_format(const std::string& name) {
  if (name == "md") return OutputFormat::md;
  if (name == "csv") return OutputFormat::csv;
  if (name == "json") return OutputFormat::json;
  if (name == "jsonl") return OutputFormat::jsonl;
  fail("-o/--output: unknown format '{}' (expected md, csv, json or jsonl)", name);
}

nlohmann::json row_json(const BenchRow& r) {
  nlohmann::json j = {
      {"model", r.model.name},
      {"model_path", r.model.path},
      {"weight_type", r.model.weight_type},
      {"size_bytes", r.model.size_bytes},
      {"params", r.model.params},
      {"backend", r.device.backend},
      {"device", r.device.name},
      {"vendor", r.device.vendor},
      {"driver", r.device.driver},
      {"driver_version", r.device.driver_version},
      {"driver_info", r.device.driver_info},
      {"api_version", r.device.api_version},
      {"matmul_path", r.device.matmul_path},
      {"attention_path", r.device.attention_path},
      {"build_version", r.build_version},
      {"build_commit", r.build_commit},
      {"test", r.test},
      {"n_prompt", r.n_prompt},
      {"n_gen", r.n_gen},
      {"depth", r.depth},
      {"reps", r.reps},
      {"samples_ts", r.samples_ts},
      {"ts_mean", r.ts_mean},
      {"ts_stddev", r.ts_stddev},
      {"bytes_per_token", optional_json(r.bytes_per_token)},
      {"effective_bytes_per_second", optional_json(r.effective_bytes_per_second)},
      {"probe_bytes_per_second",
       r.device.probe_bytes_per_second > 0.0 ? nlohmann::json(r.device.probe_bytes_per_second) : nlohmann::json()},
      {"probe_method", r.device.probe_method},
      {"probe_percent", optional_json(r.probe_percent)},
      {"flops_per_token", optional_json(r.flops_per_token)},
      {"flops_per_second", optional_json(r.flops_per_second)},
  };
  j["ops"] = r.ops ? ops_json(*r.ops) : nlohmann::json();
  // tg rows: the decode step's overheads (null elsewhere, or where the backend cannot say).
  const DecodeStepCosts* d = r.decode ? &*r.decode : nullptr;
  j["decode_bytes_read"] = d ? optional_json(d->bytes_read) : nlohmann::json();
  j["decode_bytes_needed"] = d ? nlohmann::json(d->bytes_needed) : nlohmann::json();
  j["decode_bytes_ratio"] = d ? optional_json(d->bytes_ratio) : nlohmann::json();
  j["decode_host_ms"] = d ? optional_json(d->host_ms) : nlohmann::json();
  j["decode_step_ms"] = d ? nlohmann::json(d->step_ms) : nlohmann::json();
  j["decode_host_percent"] = d ? optional_json(d->host_percent) : nlohmann::json();
  return j;
}

std::string format_rows(const std::vector<BenchRow>& rows, OutputFormat format) {
  switch (format) {
    case OutputFormat::md:
      return format_md(rows);
    case OutputFormat::csv:
      return format_csv(rows);
    case OutputFormat::json: {
      nlohmann::json all = nlohmann::json::array();
      for (const BenchRow& r : rows) all.push_back(row_json(r));
      return all.dump(2) + "\n";
    }
    case OutputFormat::jsonl: {
      std::string out;
      for (const BenchRow& r : rows) out += row_json(r).dump() + "\n";
      return out;
    }
  }
  return {};
}

std::string format_size(uint64_t bytes) {
  const double mib = double(bytes) / (1024.0 * 1024.0);
  if (mib >= 1024.0) return fmt::format("{:.2f} GiB", mib / 1024.0);
  if (mib >= 1.0) return fmt::format("{:.2f} MiB", mib);
  return fmt::format("{:.2f} KiB", double(bytes) / 1024.0);
}

std::string format_count(uint64_t n) {
  if (n >= 1000000000ull) return fmt::format("{:.2f} B", double(n) / 1e9);
  if (n >= 1000000ull) return fmt::format("{:.2f} M", double(n) / 1e6);
  if (n >= 1000ull) return fmt::format("{:.2f} K", double(n) / 1e3);
  return std::to_string(n);
}

}  // namespace vkgraph::bench
