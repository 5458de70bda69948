// The report's cost-quality plot as SVG (see flops_plot.h). Sections: the
// axes' ranges and ticks, the frame (grid, ticks, titles), the runs' marks
// and the legend.
#include "flops_plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>

#include "report_text.h"

namespace cloze {
namespace {

// The picture and its plotting area, in SVG pixels; the legend is right of it.
constexpr double kWidth = 760, kHeight = 380, kLeft = 72, kRight = 560, kTop = 20, kBottom = 320;

const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// ---------------------------------------------------------------- axes

// Heckbert's nice numbers: 1, 2, 5 or 10 times a power of ten.
double nice_number(double value, bool round) {
  const double exponent = std::floor(std::log10(value));
  const double fraction = value / std::pow(10.0, exponent);
  double nice;
  if (round)
    nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  else
    nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * std::pow(10.0, exponent);
}

struct Axis {
  double low, high, tick;
  double position(double value, double from, double to) const { return from + (value - low) / (high - low) * (to - from); }
  std::vector<double> ticks() const {
    std::vector<double> values;
    for (double v = low; v <= high + tick / 2; v += tick) values.push_back(std::round(v / tick) * tick);
    return values;
  }
  std::string label(double value) const {
    const int decimals = std::max(0, -static_cast<int>(std::floor(std::log10(tick))));
    return fmt::format("{:.{}f}", value == 0 ? 0.0 : value, decimals);
  }
};

Axis axis_for(double low, double high, double minimum_tick) {
  if (!(high > low)) {
    const double pad = low != 0 ? std::fabs(low) * 0.1 : 1;
    low -= pad;
    high += pad;
  }
  const double tick = std::max(minimum_tick, nice_number(nice_number(high - low, false) / 4, true));
  return {std::floor(low / tick) * tick, std::ceil(high / tick) * tick, tick};
}

// 10^exponent as the axis shows it: "1e12", "3e12" (10^12.5 rounded).
std::string power_of_ten_text(double exponent) {
  const double decade = std::floor(exponent + 1e-9);
  return fmt::format("{:.0f}e{:.0f}", std::pow(10.0, exponent - decade), decade);
}

// One run on the plot: log10 of its training FLOPs, its scores.
struct Point {
  const RunSeeds* run;
  double x;
  Estimate trained, initial;
};

struct Plot {
  std::vector<Point> points;
  double majority = 0;  // the majority class's accuracy, a fraction
  Axis x, y;            // log10 FLOPs; accuracy in %
};

// The runs of `modality` that have a `protocol` score and a positive cost.
Plot points_of(const std::string& modality, const std::string& protocol, const std::vector<RunSeeds>& runs) {
  Plot plot{};
  for (const auto& run : runs) {
    if (run.first().modality != modality) continue;
    const auto trained = scores_of(run, protocol, Encoder::trained);
    const double flops = mean_over(run, [](const RunResult& r) { return r.train_flops; });
    if (trained.empty() || !(flops > 0)) continue;
    plot.points.push_back(
        {&run, std::log10(flops), estimate(trained), estimate(scores_of(run, protocol, Encoder::random_init))});
    plot.majority = run.first().majority_accuracy;
  }
  return plot;
}

// Axes that hold every point, error bars and the majority line: x in quarter
// decades with a quarter decade of margin.
void fit_axes(Plot& plot) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  double x_low = inf, x_high = -inf, y_low = 100 * plot.majority, y_high = 100 * plot.majority;
  for (const auto& p : plot.points) {
    x_low = std::min(x_low, p.x);
    x_high = std::max(x_high, p.x);
    for (const Estimate* e : {&p.trained, &p.initial}) {
      const bool interval = std::isfinite(e->interval.low);
      y_low = std::min(y_low, 100 * (interval ? e->interval.low : e->mean));
      y_high = std::max(y_high, 100 * (interval ? e->interval.high : e->mean));
    }
  }
  plot.x = axis_for(std::floor(x_low * 4) / 4 - 0.25, std::ceil(x_high * 4) / 4 + 0.25, 0.25);
  plot.y = axis_for(y_low, y_high, 0);
}

// ---------------------------------------------------------------- frame

// Grid lines, ticks and tick labels of both axes.
std::string ticks_svg(const Axis& x, const Axis& y) {
  std::string svg;
  for (double t : x.ticks()) {
    const double px = x.position(t, kLeft, kRight);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>"
        "<line x1=\"{0:.1f}\" y1=\"{2}\" x2=\"{0:.1f}\" y2=\"{3}\" stroke=\"#333\"/>"
        "<text x=\"{0:.1f}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n",
        px, kTop, kBottom, kBottom + 5, kBottom + 18, power_of_ten_text(t));
  }
  for (double t : y.ticks()) {
    const double py = y.position(t, kBottom, kTop);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{2:.1f}\" x2=\"{1}\" y2=\"{2:.1f}\" stroke=\"#e4e4e4\"/>"
        "<line x1=\"{3}\" y1=\"{2:.1f}\" x2=\"{0}\" y2=\"{2:.1f}\" stroke=\"#333\"/>"
        "<text x=\"{4}\" y=\"{5:.1f}\" text-anchor=\"end\">{6}</text>\n",
        kLeft, kRight, py, kLeft - 5, kLeft - 8, py + 4, y.label(t));
  }
  return svg;
}

// The plotting area's border, the axis titles and the majority class's dashed line.
std::string frame_svg(const Plot& plot, const std::string& protocol) {
  std::string svg = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n",
                                kLeft, kTop, kRight - kLeft, kBottom - kTop);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">training FLOPs (log scale)</text>\n",
                     (kLeft + kRight) / 2, kBottom + 38);
  svg += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">{2} accuracy (%)</text>\n", 18,
      (kTop + kBottom) / 2, html_escaped(protocol_title(protocol)));
  const double majority_y = plot.y.position(100 * plot.majority, kBottom, kTop);
  svg += fmt::format(
      "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#888\" stroke-dasharray=\"6 4\">"
      "<title>majority class {}</title></line>\n",
      kLeft, majority_y, kRight, majority_y, percent_text(plot.majority));
  return svg;
}

// ---------------------------------------------------------------- runs

// An estimate's interval as a vertical bar at pixel column px; "" without one.
std::string error_bar(const Estimate& e, double px, const Axis& y, const char* colour) {
  if (!std::isfinite(e.interval.low)) return std::string();
  return fmt::format("<line class=\"error-bar\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                     "stroke=\"{3}\" stroke-width=\"1.5\"/>",
                     px, y.position(100 * e.interval.low, kBottom, kTop), y.position(100 * e.interval.high, kBottom, kTop),
                     colour);
}

// A run's random-init marker (hollow, 6 px right) and its pretrained marker
// (filled), each with its error bar and a tooltip.
std::string run_svg(const Point& p, const Plot& plot, const char* colour) {
  const double px = plot.x.position(p.x, kLeft, kRight);
  const std::string name = html_escaped(p.run->first().name);
  return error_bar(p.initial, px + 6, plot.y, colour) +
         fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"white\" stroke=\"{}\" stroke-width=\"1.5\">"
                     "<title>{} at initialisation: {}</title></circle>\n",
                     px + 6, plot.y.position(100 * p.initial.mean, kBottom, kTop), colour, name,
                     estimate_text(p.initial)) +
         error_bar(p.trained, px, plot.y, colour) +
         fmt::format("<circle class=\"run\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"><title>{}: {}</title>"
                     "</circle>\n",
                     px, plot.y.position(100 * p.trained.mean, kBottom, kTop), colour, name, estimate_text(p.trained));
}

// The legend's y for its line `i` (0: the first run).
double legend_y(std::size_t i) { return kTop + 10 + 18 * static_cast<double>(i); }

// The legend's line `i`: the run's colour and name.
std::string legend_entry(const Point& p, std::size_t i, const char* colour) {
  const double ly = legend_y(i);
  return fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                     kRight + 24, ly, colour, kRight + 36, ly + 4, html_escaped(p.run->first().name));
}

// The legend's last lines, below `runs` entries: what the hollow markers and the dashed line are.
std::string legend_key(std::size_t runs) {
  const double ly = legend_y(runs);
  return fmt::format(
      "<text x=\"{0}\" y=\"{1}\" fill=\"#555\">hollow: random-init</text>"
      "<text x=\"{0}\" y=\"{2}\" fill=\"#555\">dashed: majority class</text>\n",
      kRight + 18, ly + 4, ly + 22);
}

}  // namespace

std::string flops_plot(const std::string& modality, const std::string& protocol, const std::vector<RunSeeds>& runs) {
  Plot plot = points_of(modality, protocol, runs);
  if (plot.points.empty()) return "";
  fit_axes(plot);
  std::string svg = fmt::format(
      "<svg width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"{2} accuracy against training FLOPs, {3}\" font-family=\"sans-serif\" font-size=\"12\">\n",
      kWidth, kHeight, html_escaped(protocol_title(protocol)), html_escaped(modality));
  svg += ticks_svg(plot.x, plot.y) + frame_svg(plot, protocol);
  for (std::size_t i = 0; i < plot.points.size(); ++i) {
    const char* colour = kColours[i % std::size(kColours)];
    svg += run_svg(plot.points[i], plot, colour) + legend_entry(plot.points[i], i, colour);
  }
  return svg + legend_key(plot.points.size()) + "</svg>\n";
}

}  // namespace cloze
