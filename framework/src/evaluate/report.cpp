// The report of a comparison sweep: the tables, the score-against-FLOPs plots,
// and report.md / report.html written atomically. Sections: formatting
// numbers, the tables, the SVG plot, the two documents.
#include "cloze/evaluate/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <system_error>

#include "cloze/core/error.h"
#include "cloze/io/durable_file.h"

namespace fs = std::filesystem;

namespace cloze {

// ---------------------------------------------------------------- numbers

namespace {

const std::string kMissing = "\xE2\x80\x93";  // "–", U+2013

std::string grouped(int64_t n) {  // 1234567 -> "1,234,567"
  std::string digits = std::to_string(n < 0 ? -n : n);
  for (auto i = static_cast<std::ptrdiff_t>(digits.size()) - 3; i > 0; i -= 3) digits.insert(static_cast<std::size_t>(i), ",");
  return n < 0 ? "-" + digits : digits;
}

std::string rounded(double value) { return std::isfinite(value) ? grouped(std::llround(value)) : fmt::format("{}", value); }

std::string loss_text(double loss) { return fmt::format("{:.4g}", loss); }

std::string duration_text(double seconds) {  // "42 s", "1 min 23 s", "2 h 5 min 0 s"
  const int64_t total = std::isfinite(seconds) ? std::llround(seconds) : 0;
  if (total >= 3600) return fmt::format("{} h {} min {} s", total / 3600, total / 60 % 60, total % 60);
  if (total >= 60) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} s", total);
}

std::string or_missing(const std::string& text) { return text.empty() ? kMissing : text; }

// Display width of UTF-8 text: code points, not bytes.
std::size_t width_of(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string html_escaped(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------- tables

struct Table {
  std::string title;                   // a heading above it, may be empty
  std::vector<std::string> header;
  std::vector<bool> numeric;           // right-aligned columns
  std::vector<std::vector<std::string>> rows;
};

std::string markdown_cell(const std::string& text) {  // a "|" would end the cell
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

std::string markdown(const Table& table) {
  std::vector<std::vector<std::string>> rows{table.header};
  for (const auto& row : table.rows) {
    rows.push_back(row);
    for (auto& cell : rows.back()) cell = markdown_cell(cell);
  }
  std::vector<std::size_t> widths(table.header.size(), 3);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width_of(row[c]));
  const auto line_of = [&](const std::vector<std::string>& row) {
    std::string line = "|";
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - width_of(row[c]), ' ');
      line += " " + (table.numeric[c] ? pad + row[c] : row[c] + pad) + " |";
    }
    return line + "\n";
  };
  std::string text = (table.title.empty() ? "" : "### " + table.title + "\n\n") + line_of(rows[0]) + "|";
  for (std::size_t c = 0; c < widths.size(); ++c)
    text += table.numeric[c] ? " " + std::string(widths[c] - 1, '-') + ": |" : " " + std::string(widths[c], '-') + " |";
  text += "\n";
  for (std::size_t r = 1; r < rows.size(); ++r) text += line_of(rows[r]);
  return text;
}

std::string html(const Table& table) {
  std::string text = table.title.empty() ? "" : "<h3>" + html_escaped(table.title) + "</h3>\n";
  text += "<table>\n<tr>";
  for (const auto& cell : table.header) text += "<th>" + html_escaped(cell) + "</th>";
  text += "</tr>\n";
  for (const auto& row : table.rows) {
    text += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c)
      text += (table.numeric[c] ? "<td class=\"number\">" : "<td>") + html_escaped(row[c]) + "</td>";
    text += "</tr>\n";
  }
  return text + "</table>\n";
}

// The mean over seeds of one number of each seed.
template <typename Field>
double mean_over(const RunSeeds& run, Field field) {
  double sum = 0;
  for (const auto* seed : run.seeds) sum += field(*seed);
  return sum / static_cast<double>(run.seeds.size());
}

std::string flops_text(double flops) {  // "12.3 TFLOP"
  if (!std::isfinite(flops) || flops <= 0) return kMissing;
  const char* const prefixes[] = {"", "k", "M", "G", "T", "P", "E"};
  int power = 0;
  while (flops >= 1000 && power < 6) {
    flops /= 1000;
    ++power;
  }
  return fmt::format("{:.3g} {}FLOP", flops, prefixes[power]);
}

std::string quality_text(const RunSeeds& run) {  // masked accuracy / PSNR, mean over seeds
  const RunResult& first = run.first();
  std::vector<std::string> parts;
  if (first.masked_accuracy) parts.push_back(percent_text(mean_over(run, [](const RunResult& r) { return r.masked_accuracy.value_or(0); })));
  if (first.psnr) parts.push_back(fmt::format("{:.1f} dB", mean_over(run, [](const RunResult& r) { return r.psnr.value_or(0); })));
  if (parts.empty()) return kMissing;
  return parts.size() == 1 ? parts[0] : parts[0] + ", " + parts[1];
}

Table pretraining_table(const std::vector<RunSeeds>& runs) {
  Table table{"Pretraining",
              {"run", "modality", "objective", "mode", "parameters", "seeds", "steps", "final masked loss",
               "masked accuracy / PSNR", "unigram masked accuracy", "train FLOPs", "units/s", "wall time",
               "peak memory"},
              {false, false, false, false, false, true, true, true, true, true, true, true, true, true},
              {}};
  for (const auto& run : runs) {
    const RunResult& first = run.first();
    double peak = 0;
    for (const auto* seed : run.seeds) peak = std::max(peak, seed->peak_memory_mb);
    table.rows.push_back(
        {or_missing(first.name), or_missing(first.modality), or_missing(first.objective), or_missing(first.mode),
         or_missing(first.parameters), std::to_string(run.seeds.size()), grouped(first.steps),
         loss_text(mean_over(run, [](const RunResult& r) { return r.final_loss; })), quality_text(run),
         first.unigram_accuracy ? percent_text(mean_over(run, [](const RunResult& r) { return r.unigram_accuracy.value_or(0); }))
                                : kMissing,
         flops_text(mean_over(run, [](const RunResult& r) { return r.train_flops; })),
         rounded(mean_over(run, [](const RunResult& r) { return r.units_per_s; })),
         duration_text(mean_over(run, [](const RunResult& r) { return r.wall_seconds; })), rounded(peak) + " MB"});
  }
  return table;
}

std::string estimate_text(const Estimate& e) {  // "81.2% ± 0.4 [80.2, 82.2]"
  if (!std::isfinite(e.interval.low)) return percent_text(e.mean);
  return fmt::format("{:.1f}% ± {:.1f} [{:.1f}, {:.1f}]", 100 * e.mean, 100 * e.std, 100 * e.interval.low,
                     100 * e.interval.high);
}


Table protocol_table(const std::vector<RunSeeds>& runs, const std::string& protocol) {
  Table table{protocol_title(protocol) + " accuracy, mean ± std over seeds [95% interval]",
              {"run", "modality", "seeds", "pretrained", "random-init", "gain over random-init (points)", "raw input"},
              {false, false, true, true, true, true, true},
              {}};
  for (const auto& run : runs) {
    const auto trained = scores_of(run, protocol, Encoder::trained);
    if (trained.empty()) continue;
    const auto initial = scores_of(run, protocol, Encoder::random_init);
    const auto raw = scores_of(run, protocol, Encoder::raw);
    table.rows.push_back({run.first().name, run.first().modality, std::to_string(trained.size()),
                          estimate_text(estimate(trained)), estimate_text(estimate(initial)),
                          difference_text(difference(trained, initial)),
                          raw.empty() ? kMissing : estimate_text(estimate(raw))});
  }
  return table;
}

Table task_table(const std::vector<RunSeeds>& runs) {
  Table table{"Tasks", {"modality", "classes", "eval samples", "majority class"}, {false, true, true, true}, {}};
  for (const auto& run : runs) {
    const RunResult& first = run.first();
    if (std::any_of(table.rows.begin(), table.rows.end(), [&](const auto& row) { return row[0] == first.modality; }))
      continue;
    int64_t samples = 0;
    for (const auto& [name, scores] : first.protocols) samples = static_cast<int64_t>(scores.trained.correct.size());
    table.rows.push_back({first.modality, std::to_string(first.classes), grouped(samples),
                          percent_text(first.majority_accuracy)});
  }
  return table;
}

std::vector<Table> tables_of(const std::vector<RunResult>& results, const std::vector<std::string>& protocols) {
  const auto runs = by_run(results);
  std::vector<Table> tables{pretraining_table(runs)};
  for (const auto& protocol : protocols) {
    Table table = protocol_table(runs, protocol);
    if (!table.rows.empty()) tables.push_back(std::move(table));
  }
  tables.push_back(task_table(runs));
  return tables;
}

}  // namespace

std::string results_table(const std::vector<RunResult>& results, const std::vector<std::string>& protocols) {
  std::string text;
  for (const auto& table : tables_of(results, protocols)) text += (text.empty() ? "" : "\n") + markdown(table);
  return text;
}

// ---------------------------------------------------------------- plot

namespace {

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

const char* const kColours[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

// 10^exponent as the axis shows it: "1e12", "3e12" (10^12.5 rounded).
std::string power_of_ten_text(double exponent) {
  const double decade = std::floor(exponent + 1e-9);
  return fmt::format("{:.0f}e{:.0f}", std::pow(10.0, exponent - decade), decade);
}

// A protocol's accuracy against training FLOPs (log scale), one point per run
// with its interval as an error bar, its random-init encoder as a hollow
// marker at the same cost, and the majority class as a dashed line.
std::string flops_plot(const std::string& modality, const std::string& protocol, const std::vector<RunSeeds>& runs) {
  constexpr double width = 760, height = 380, left = 72, right = 560, top = 20, bottom = 320;
  struct Point {
    const RunSeeds* run;
    double x;
    Estimate trained, initial;
  };
  std::vector<Point> points;
  double majority = 0;
  for (const auto& run : runs) {
    if (run.first().modality != modality) continue;
    const auto trained = scores_of(run, protocol, Encoder::trained);
    const double flops = mean_over(run, [](const RunResult& r) { return r.train_flops; });
    if (trained.empty() || !(flops > 0)) continue;
    points.push_back({&run, std::log10(flops), estimate(trained), estimate(scores_of(run, protocol, Encoder::random_init))});
    majority = run.first().majority_accuracy;
  }
  if (points.empty()) return "";
  constexpr double inf = std::numeric_limits<double>::infinity();
  double x_low = inf, x_high = -inf, y_low = 100 * majority, y_high = 100 * majority;
  for (const auto& p : points) {
    x_low = std::min(x_low, p.x);
    x_high = std::max(x_high, p.x);
    for (const Estimate* e : {&p.trained, &p.initial}) {
      const bool interval = std::isfinite(e->interval.low);
      y_low = std::min(y_low, 100 * (interval ? e->interval.low : e->mean));
      y_high = std::max(y_high, 100 * (interval ? e->interval.high : e->mean));
    }
  }
  const Axis x = axis_for(std::floor(x_low * 4) / 4 - 0.25, std::ceil(x_high * 4) / 4 + 0.25, 0.25),
             y = axis_for(y_low, y_high, 0);

  std::string svg = fmt::format(
      "<svg width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"{2} accuracy against training FLOPs, {3}\" font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, html_escaped(protocol_title(protocol)), html_escaped(modality));
  for (double t : x.ticks()) {
    const double px = x.position(t, left, right);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>"
        "<line x1=\"{0:.1f}\" y1=\"{2}\" x2=\"{0:.1f}\" y2=\"{3}\" stroke=\"#333\"/>"
        "<text x=\"{0:.1f}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n",
        px, top, bottom, bottom + 5, bottom + 18, power_of_ten_text(t));
  }
  for (double t : y.ticks()) {
    const double py = y.position(t, bottom, top);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{2:.1f}\" x2=\"{1}\" y2=\"{2:.1f}\" stroke=\"#e4e4e4\"/>"
        "<line x1=\"{3}\" y1=\"{2:.1f}\" x2=\"{0}\" y2=\"{2:.1f}\" stroke=\"#333\"/>"
        "<text x=\"{4}\" y=\"{5:.1f}\" text-anchor=\"end\">{6}</text>\n",
        left, right, py, left - 5, left - 8, py + 4, y.label(t));
  }
  svg += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", left, top,
                     right - left, bottom - top);
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">training FLOPs (log scale)</text>\n",
                     (left + right) / 2, bottom + 38);
  svg += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">{2} accuracy (%)</text>\n", 18,
      (top + bottom) / 2, html_escaped(protocol_title(protocol)));
  const double majority_y = y.position(100 * majority, bottom, top);
  svg += fmt::format(
      "<line x1=\"{}\" y1=\"{:.1f}\" x2=\"{}\" y2=\"{:.1f}\" stroke=\"#888\" stroke-dasharray=\"6 4\">"
      "<title>majority class {}</title></line>\n",
      left, majority_y, right, majority_y, percent_text(majority));

  for (std::size_t i = 0; i < points.size(); ++i) {
    const Point& p = points[i];
    const char* colour = kColours[i % std::size(kColours)];
    const double px = x.position(p.x, left, right);
    const auto bar = [&](const Estimate& e, double dx) {
      if (!std::isfinite(e.interval.low)) return std::string();
      return fmt::format("<line class=\"error-bar\" x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" "
                         "stroke=\"{3}\" stroke-width=\"1.5\"/>",
                         px + dx, y.position(100 * e.interval.low, bottom, top),
                         y.position(100 * e.interval.high, bottom, top), colour);
    };
    svg += bar(p.initial, 6) +
           fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"white\" stroke=\"{}\" stroke-width=\"1.5\">"
                       "<title>{} at initialisation: {}</title></circle>\n",
                       px + 6, y.position(100 * p.initial.mean, bottom, top), colour,
                       html_escaped(p.run->first().name), estimate_text(p.initial));
    svg += bar(p.trained, 0) +
           fmt::format("<circle class=\"run\" cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"><title>{}: {}</title>"
                       "</circle>\n",
                       px, y.position(100 * p.trained.mean, bottom, top), colour, html_escaped(p.run->first().name),
                       estimate_text(p.trained));
    const double ly = top + 10 + 18 * static_cast<double>(i);
    svg += fmt::format(
        "<circle cx=\"{}\" cy=\"{}\" r=\"5\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n", right + 24, ly, colour,
        right + 36, ly + 4, html_escaped(p.run->first().name));
  }
  const double ly = top + 10 + 18 * static_cast<double>(points.size());
  svg += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" fill=\"#555\">hollow: random-init</text>"
      "<text x=\"{0}\" y=\"{2}\" fill=\"#555\">dashed: majority class</text>\n",
      right + 18, ly + 4, ly + 22);
  return svg + "</svg>\n";
}

// ---------------------------------------------------------------- documents

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read preview picture " + path.string());
  std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) throw Error("cannot read preview picture " + path.string());
  return bytes;
}

std::string base64(const std::string& bytes) {
  namespace it = boost::archive::iterators;
  using Encoder = it::base64_from_binary<it::transform_width<std::string::const_iterator, 6, 8>>;
  std::string text(Encoder(bytes.begin()), Encoder(bytes.end()));
  return text.append((3 - bytes.size() % 3) % 3, '=');
}

std::string mime_type(const fs::path& picture) {
  std::string extension = picture.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  if (extension == ".jpg" || extension == ".jpeg") return "image/jpeg";
  if (extension == ".gif") return "image/gif";
  if (extension == ".webp") return "image/webp";
  return "image/png";
}

// A picture's link in report.md: relative to the report's folder.
std::string link_to(const fs::path& picture, const fs::path& dir) {
  const auto absolute = fs::absolute(picture).lexically_normal();
  const auto relative = absolute.lexically_relative(fs::absolute(dir).lexically_normal());
  const std::string text = (relative.empty() ? absolute : relative).generic_string();
  return text.find_first_of(" ()<>") == std::string::npos ? text : "<" + text + ">";
}

// A fence longer than any run of backticks in the text.
std::string code_fence(const std::string& text) {
  std::size_t longest = 0, run = 0;
  for (char c : text) {
    run = c == '`' ? run + 1 : 0;
    longest = std::max(longest, run);
  }
  return std::string(std::max<std::size_t>(3, longest + 1), '`');
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool has_previews(const RunResult& run) { return !run.pictures.empty() || !run.text_samples.empty(); }

std::string markdown_report(const fs::path& dir, const std::string& title, const std::vector<RunResult>& runs,
                            const std::vector<std::string>& protocols) {
  std::string md = "# " + title + "\n\n" + results_table(runs, protocols) + "\n## Verdicts\n\n";
  for (const auto& sentence : lines_of(verdicts(runs, protocols))) md += "- " + sentence + "\n";
  if (std::any_of(runs.begin(), runs.end(), has_previews)) md += "\n## Previews\n";
  for (const auto& run : runs) {
    if (!has_previews(run)) continue;
    md += "\n### " + run.name + "\n\n";
    for (const auto& picture : run.pictures)
      md += "![" + picture.filename().string() + "](" + link_to(picture, dir) + ")\n";
    if (!run.text_samples.empty()) {
      const auto fence = code_fence(run.text_samples);
      md += (run.pictures.empty() ? "" : "\n") + fence + "\n" + run.text_samples +
            (run.text_samples.back() == '\n' ? "" : "\n") + fence + "\n";
    }
  }
  return md;
}

const char* const kStyle = R"(body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; }
th { background: #f2f2f2; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
img { image-rendering: pixelated; max-width: 100%; margin: 4px; border: 1px solid #ddd; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; }
)";

std::string html_report(const std::string& title, const std::vector<RunResult>& results,
                        const std::vector<std::string>& protocols) {
  std::string text = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     html_escaped(title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
                     html_escaped(title) + "</h1>\n";
  for (const auto& table : tables_of(results, protocols)) text += html(table);
  text += "<h2>Verdicts</h2>\n<ul>\n";
  for (const auto& sentence : lines_of(verdicts(results, protocols))) text += "<li>" + html_escaped(sentence) + "</li>\n";
  text += "</ul>\n";
  const auto runs = by_run(results);
  std::vector<std::string> modalities;
  for (const auto& run : runs)
    if (std::find(modalities.begin(), modalities.end(), run.first().modality) == modalities.end())
      modalities.push_back(run.first().modality);
  for (const auto& modality : modalities) {
    text += "<h2>" + html_escaped(or_missing(modality)) + "</h2>\n";
    for (const auto& protocol : protocols) text += flops_plot(modality, protocol, runs);
    for (const auto& run : results) {
      if (run.modality != modality || !has_previews(run)) continue;
      text += "<h3>" + html_escaped(run.name) + " (seed " + std::to_string(run.seed) + ")</h3>\n";
      for (const auto& picture : run.pictures)
        text += "<img alt=\"" + html_escaped(picture.filename().string()) + "\" src=\"data:" + mime_type(picture) +
                ";base64," + base64(read_bytes(picture)) + "\">\n";
      if (!run.text_samples.empty()) text += "<pre>" + html_escaped(run.text_samples) + "</pre>\n";
    }
  }
  return text + "</body>\n</html>\n";
}

}  // namespace

void write_report(const fs::path& dir, const std::string& title, const std::vector<RunResult>& results,
                  const std::vector<std::string>& protocols) {
  if (!fs::is_directory(dir))
    throw Error("cannot write the report into " + dir.string() +
                (fs::exists(dir) ? ": it is not a folder" : ": the folder does not exist"));
  // Both documents are built before either is written: a picture that cannot
  // be read leaves no report at all rather than half of one.
  const std::string md = markdown_report(dir, title, results, protocols);
  const std::string html = html_report(title, results, protocols);
  write_durably(dir / "report.md", md);
  write_durably(dir / "report.html", html);
}

}  // namespace cloze
