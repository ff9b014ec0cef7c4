#include "cli/bench/bench_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

namespace vkgraph::bench {
namespace {

// Layout in SVG user units (pixels at 100% zoom).
constexpr double kWidth = 900;
constexpr double kMargin = 16;
constexpr double kBarArea = 700;     // the longest bar of a panel; the value is printed after it
constexpr double kLabelHeight = 17;  // the series name, above its bar (names are long)
constexpr double kBarHeight = 20;
constexpr double kBarGap = 8;
constexpr double kPanelTitle = 30;
constexpr double kPanelGap = 18;
constexpr double kTitle = 40;

// Colour-blind-safe palette (Okabe and Ito), one colour per series across all panels.
constexpr const char* kColors[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7",
                                   "#56B4E9", "#D55E00", "#F0E442", "#000000"};

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string series_name(const BenchRow& r) {
  return fmt::format("{} · {} · {}", r.model.name, r.device.name, r.device.backend);
}

// Tests and series in order of first appearance.
template <typename Key>
void add_unique(std::vector<Key>& v, const Key& k) {
  if (std::find(v.begin(), v.end(), k) == v.end()) v.push_back(k);
}

}  // namespace

std::string plot_svg(const std::vector<BenchRow>& rows) {
  std::vector<std::string> tests, series;
  for (const BenchRow& r : rows) {
    add_unique(tests, r.label());
    add_unique(series, series_name(r));
  }
  std::map<std::string, size_t> color_of;
  for (size_t i = 0; i < series.size(); ++i) color_of[series[i]] = i % std::size(kColors);

  std::string body;
  double y = kTitle;
  for (const std::string& test : tests) {
    std::vector<const BenchRow*> panel;
    for (const BenchRow& r : rows) {
      if (r.label() == test) panel.push_back(&r);
    }
    double max_value = 0.0;
    for (const BenchRow* r : panel) max_value = std::max(max_value, r->ts_mean + r->ts_stddev);
    const double scale = max_value > 0.0 ? kBarArea / max_value : 0.0;
    body += fmt::format("<g class=\"panel\" data-test=\"{}\">\n", xml_escape(test));
    body += fmt::format("<text x=\"{}\" y=\"{:.1f}\" class=\"panel-title\">{} (tokens/s)</text>\n", kMargin, y + 20,
                        xml_escape(test));
    y += kPanelTitle;
    const double axis_x = kMargin;
    const double panel_top = y;
    for (const BenchRow* r : panel) {
      const std::string name = series_name(*r);
      const double w = std::max(0.0, r->ts_mean * scale);
      body += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\">{}</text>\n", axis_x + 2, y + kLabelHeight - 4,
                          xml_escape(name));
      y += kLabelHeight;
      body += fmt::format(
          "<rect class=\"bar\" data-test=\"{}\" data-series=\"{}\" data-value=\"{:.6g}\" x=\"{:.1f}\" y=\"{:.1f}\" "
          "width=\"{:.2f}\" height=\"{}\" fill=\"{}\"><title>{}: {:.2f} ± {:.2f} t/s</title></rect>\n",
          xml_escape(test), xml_escape(name), r->ts_mean, axis_x, y, w, kBarHeight, kColors[color_of[name]],
          xml_escape(name), r->ts_mean, r->ts_stddev);
      if (r->ts_stddev > 0.0) {
        const double lo = axis_x + std::max(0.0, r->ts_mean - r->ts_stddev) * scale;
        const double hi = axis_x + (r->ts_mean + r->ts_stddev) * scale;
        const double mid = y + kBarHeight / 2;
        body += fmt::format(
            "<path class=\"whisker\" d=\"M{:.1f},{:.1f}H{:.1f}M{:.1f},{:.1f}V{:.1f}M{:.1f},{:.1f}V{:.1f}\"/>\n", lo,
            mid, hi, lo, mid - 4, mid + 4, hi, mid - 4, mid + 4);
      }
      const double text_x = axis_x + std::max(w, (r->ts_mean + r->ts_stddev) * scale) + 6;
      body += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" class=\"value\">{:.2f} ± {:.2f}</text>\n", text_x,
                          y + kBarHeight * 0.72, r->ts_mean, r->ts_stddev);
      y += kBarHeight + kBarGap;
    }
    body += fmt::format("<line class=\"axis\" x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\"/>\n", axis_x,
                        panel_top - 4, axis_x, y - kBarGap + 4);
    body += "</g>\n";
    y += kPanelGap;
  }
  const double height = y + kMargin;

  std::string build;
  if (!rows.empty()) build = fmt::format("vkgraph {} ({})", rows.front().build_version, rows.front().build_commit);
  std::string svg = fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1:.0f}\" viewBox=\"0 0 {0} {1:.0f}\" "
      "font-family=\"sans-serif\" font-size=\"13\">\n"
      "<style>.panel-title{{font-weight:bold;font-size:15px}} .value{{fill:#333}} "
      ".axis{{stroke:#444;stroke-width:1}} .whisker{{stroke:#222;stroke-width:1.5;fill:none}}</style>\n"
      "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n"
      "<text x=\"{2}\" y=\"26\" font-size=\"17\" font-weight=\"bold\">vkgraph bench: tokens/s, mean ± standard "
      "deviation</text>\n"
      "<text x=\"{3}\" y=\"26\" text-anchor=\"end\" fill=\"#666\">{4}</text>\n",
      kWidth, height, kMargin, kWidth - kMargin, xml_escape(build));
  return svg + body + "</svg>\n";
}

}  // namespace vkgraph::bench
