// The report of a comparison sweep: metrics.jsonl read back, the results table,
// the verdicts, and report.md / report.html written atomically. Sections:
// reading metrics, formatting numbers, the table, the verdicts, the SVG plot,
// the two documents.
#include "cloze/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <cctype>
#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <system_error>

#include "cloze/durable_file.h"
#include "cloze/error.h"

namespace fs = std::filesystem;

namespace cloze {

// ---------------------------------------------------------------- metrics

namespace {

std::optional<double> number_at(const nlohmann::json& record, const char* key) {
  const auto it = record.find(key);
  if (it == record.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

}  // namespace

void read_metrics(const fs::path& metrics_jsonl, RunResult& into) {
  std::ifstream in(metrics_jsonl);
  if (!in) throw Error("cannot read metrics file " + metrics_jsonl.string());
  std::map<int64_t, nlohmann::json> evals;  // by step; a later line for the same step wins
  double units_sum = 0;
  int64_t units_count = 0, last_step = -1;
  std::string line;
  while (std::getline(in, line)) {
    const auto record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) continue;
    const auto step = record.find("step");
    const auto split = record.find("split");
    if (step == record.end() || !step->is_number() || split == record.end() || !split->is_string()) continue;
    const auto at = step->get<int64_t>();
    last_step = std::max(last_step, at);
    if (*split == "eval") {
      evals[at] = record;
    } else if (*split == "train") {
      if (const auto units = number_at(record, "units_per_s")) {
        units_sum += *units;
        ++units_count;
      }
    }
  }
  if (in.bad()) throw Error("cannot read metrics file " + metrics_jsonl.string());
  if (evals.empty()) throw Error("metrics file " + metrics_jsonl.string() + " has no eval line");

  into.eval_curve.clear();
  for (const auto& [at, record] : evals)
    if (const auto loss = number_at(record, "loss")) into.eval_curve.emplace_back(at, *loss);
  const auto& last = evals.rbegin()->second;
  into.final_loss = number_at(last, "loss").value_or(std::nan(""));  // a diverged run logs null
  if (const auto accuracy = number_at(last, "masked_accuracy")) into.masked_accuracy = accuracy;
  if (const auto psnr = number_at(last, "psnr")) into.psnr = psnr;
  into.steps = last_step;
  if (units_count > 0) into.units_per_s = units_sum / static_cast<double>(units_count);
}

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
std::string percent(double fraction) { return fmt::format("{:.1f}%", 100 * fraction); }

std::string duration_text(double seconds) {  // "42 s", "1 min 23 s", "2 h 5 min 0 s"
  const int64_t total = std::isfinite(seconds) ? std::llround(seconds) : 0;
  if (total >= 3600) return fmt::format("{} h {} min {} s", total / 3600, total / 60 % 60, total % 60);
  if (total >= 60) return fmt::format("{} min {} s", total / 60, total % 60);
  return fmt::format("{} s", total);
}

std::string quality_text(const RunResult& run) {  // masked accuracy / PSNR
  std::vector<std::string> parts;
  if (run.masked_accuracy) parts.push_back(percent(*run.masked_accuracy));
  if (run.psnr) parts.push_back(fmt::format("{:.1f} dB", *run.psnr));
  if (parts.empty()) return kMissing;
  return parts.size() == 1 ? parts[0] : parts[0] + ", " + parts[1];
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

// ---------------------------------------------------------------- table

struct Column {
  const char* header;
  bool numeric;  // right-aligned
};

const std::vector<Column> kColumns = {
    {"run", false},           {"modality", false},          {"objective", false},         {"mode", false},
    {"parameters", false},    {"steps", true},              {"final masked loss", true},  {"masked accuracy / PSNR", true},
    {"probe accuracy", true}, {"random-init probe", true},  {"raw-input probe", true},    {"units/s", true},
    {"wall time", true},      {"peak memory", true},
};

std::vector<std::string> cells_of(const RunResult& run) {
  return {or_missing(run.name),
          or_missing(run.modality),
          or_missing(run.objective),
          or_missing(run.mode),
          or_missing(run.parameters),
          grouped(run.steps),
          loss_text(run.final_loss),
          quality_text(run),
          percent(run.probe_accuracy),
          percent(run.random_probe_accuracy),
          percent(run.raw_probe_accuracy),
          rounded(run.units_per_s),
          duration_text(run.wall_seconds),
          rounded(run.peak_memory_mb) + " MB"};
}

std::string markdown_cell(const std::string& text) {  // a "|" would end the cell
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out;
}

}  // namespace

std::string results_table(const std::vector<RunResult>& runs) {
  std::vector<std::vector<std::string>> rows(1);
  for (const auto& column : kColumns) rows[0].push_back(column.header);
  for (const auto& run : runs) {
    rows.push_back(cells_of(run));
    for (auto& cell : rows.back()) cell = markdown_cell(cell);
  }
  std::vector<std::size_t> widths(kColumns.size(), 3);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], width_of(row[c]));

  const auto line_of = [&](const std::vector<std::string>& row) {
    std::string line = "|";
    for (std::size_t c = 0; c < row.size(); ++c) {
      const std::string pad(widths[c] - width_of(row[c]), ' ');
      line += " " + (kColumns[c].numeric ? pad + row[c] : row[c] + pad) + " |";
    }
    return line + "\n";
  };
  std::string table = line_of(rows[0]) + "|";
  for (std::size_t c = 0; c < kColumns.size(); ++c)
    table += kColumns[c].numeric ? " " + std::string(widths[c] - 1, '-') + ": |" : " " + std::string(widths[c], '-') + " |";
  table += "\n";
  for (std::size_t r = 1; r < rows.size(); ++r) table += line_of(rows[r]);
  return table;
}

// ---------------------------------------------------------------- verdicts

namespace {

// "2.1 points over", "0.4 points under", "level with" (a difference in fractions).
std::string lead_text(double difference) {
  const double points = 100 * difference;
  if (std::fabs(points) < 0.05) return "level with";
  return fmt::format("{:.1f} points {}", std::fabs(points), points > 0 ? "over" : "under");
}

std::string run_label(const RunResult& run) { return run.name + " (" + or_missing(run.objective) + ")"; }

std::vector<std::string> modalities_of(const std::vector<RunResult>& runs) {
  std::vector<std::string> modalities;
  for (const auto& run : runs)
    if (std::find(modalities.begin(), modalities.end(), run.modality) == modalities.end())
      modalities.push_back(run.modality);
  return modalities;
}

std::vector<const RunResult*> runs_of(const std::vector<RunResult>& runs, const std::string& modality) {
  std::vector<const RunResult*> chosen;
  for (const auto& run : runs)
    if (run.modality == modality) chosen.push_back(&run);
  return chosen;
}

std::string verdict(const std::string& modality, std::vector<const RunResult*> group) {
  std::stable_sort(group.begin(), group.end(),
                   [](const RunResult* a, const RunResult* b) { return a->probe_accuracy > b->probe_accuracy; });
  const RunResult& best = *group[0];
  std::string sentence =
      fmt::format("{}: {} probes best at {}", or_missing(modality), run_label(best), percent(best.probe_accuracy));
  if (group.size() > 1) {
    const RunResult& second = *group[1];
    sentence += fmt::format(", {} the runner-up {} at {}", lead_text(best.probe_accuracy - second.probe_accuracy),
                            run_label(second), percent(second.probe_accuracy));
  } else {
    sentence += " (the only run)";
  }
  sentence += fmt::format(", {} its random-init encoder ({}) and {} its raw input ({})",
                          lead_text(best.probe_accuracy - best.random_probe_accuracy),
                          percent(best.random_probe_accuracy),
                          lead_text(best.probe_accuracy - best.raw_probe_accuracy), percent(best.raw_probe_accuracy));
  if (best.probe_accuracy <= best.random_probe_accuracy) {
    sentence += "; pretraining did not beat the random-init baseline";
  } else {
    std::vector<std::string> behind;
    for (const auto* run : group)
      if (run->probe_accuracy <= run->random_probe_accuracy) behind.push_back(run->name);
    if (!behind.empty()) {
      std::string names = behind[0];
      for (std::size_t i = 1; i < behind.size(); ++i) names += (i + 1 == behind.size() ? " and " : ", ") + behind[i];
      sentence += fmt::format("; {} did not beat {} random-init baseline", names, behind.size() == 1 ? "its" : "their");
    }
  }
  return sentence + ".";
}

}  // namespace

std::string verdicts(const std::vector<RunResult>& runs) {
  std::string text;
  for (const auto& modality : modalities_of(runs)) text += verdict(modality, runs_of(runs, modality)) + "\n";
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

// Eval masked loss against step, one line per run, with axes and a legend.
std::string loss_plot(const std::string& modality, const std::vector<const RunResult*>& group) {
  constexpr double width = 760, height = 380, left = 72, right = 560, top = 20, bottom = 320;
  constexpr double inf = std::numeric_limits<double>::infinity();
  double x_low = inf, x_high = -inf, y_low = inf, y_high = -inf;
  for (const auto* run : group)
    for (const auto& [step, loss] : run->eval_curve) {
      if (!std::isfinite(loss)) continue;
      x_low = std::min(x_low, static_cast<double>(step));
      x_high = std::max(x_high, static_cast<double>(step));
      y_low = std::min(y_low, loss);
      y_high = std::max(y_high, loss);
    }
  if (!std::isfinite(x_low)) x_low = x_high = y_low = y_high = 0;
  const Axis x = axis_for(x_low, x_high, 1), y = axis_for(y_low, y_high, 0);

  std::string svg = fmt::format(
      "<svg width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"eval masked loss against step, {2}\" font-family=\"sans-serif\" font-size=\"12\">\n",
      width, height, html_escaped(modality));
  for (double t : x.ticks()) {
    const double px = x.position(t, left, right);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#e4e4e4\"/>"
        "<line x1=\"{0:.1f}\" y1=\"{2}\" x2=\"{0:.1f}\" y2=\"{3}\" stroke=\"#333\"/>"
        "<text x=\"{0:.1f}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n",
        px, top, bottom, bottom + 5, bottom + 18, x.label(t));
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
  svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\n", (left + right) / 2, bottom + 38);
  svg += fmt::format(
      "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">eval masked loss</text>\n", 18,
      (top + bottom) / 2);

  for (std::size_t i = 0; i < group.size(); ++i) {
    const RunResult& run = *group[i];
    const char* colour = kColours[i % std::size(kColours)];
    std::string points;
    for (const auto& [step, loss] : run.eval_curve)
      if (std::isfinite(loss))
        points += fmt::format("{}{:.1f},{:.1f}", points.empty() ? "" : " ",
                              x.position(static_cast<double>(step), left, right), y.position(loss, bottom, top));
    svg += fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"><title>{}</title></polyline>\n", colour,
        points, html_escaped(run.name));
    if (run.eval_curve.size() == 1 && !points.empty()) {  // one point draws no line: mark it
      const auto comma = points.find(',');
      svg += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{}\"/>\n", points.substr(0, comma),
                         points.substr(comma + 1), colour);
    }
    const double ly = top + 10 + 18 * static_cast<double>(i);
    svg += fmt::format(
        "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"{3}\" stroke-width=\"3\"/>"
        "<text x=\"{4}\" y=\"{5}\">{6}</text>\n",
        right + 16, ly, right + 40, colour, right + 46, ly + 4, html_escaped(run.name));
  }
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

std::string markdown_report(const fs::path& dir, const std::string& title, const std::vector<RunResult>& runs) {
  std::string md = "# " + title + "\n\n" + results_table(runs) + "\n## Verdicts\n\n";
  for (const auto& sentence : lines_of(verdicts(runs))) md += "- " + sentence + "\n";
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

std::string html_table(const std::vector<RunResult>& runs) {
  std::string html = "<table>\n<tr>";
  for (const auto& column : kColumns) html += "<th>" + html_escaped(column.header) + "</th>";
  html += "</tr>\n";
  for (const auto& run : runs) {
    const auto cells = cells_of(run);
    html += "<tr>";
    for (std::size_t c = 0; c < cells.size(); ++c)
      html += (kColumns[c].numeric ? "<td class=\"number\">" : "<td>") + html_escaped(cells[c]) + "</td>";
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

std::string html_report(const std::string& title, const std::vector<RunResult>& runs) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                     html_escaped(title) + "</title>\n<style>\n" + kStyle + "</style>\n</head>\n<body>\n<h1>" +
                     html_escaped(title) + "</h1>\n" + html_table(runs) + "<h2>Verdicts</h2>\n<ul>\n";
  for (const auto& sentence : lines_of(verdicts(runs))) html += "<li>" + html_escaped(sentence) + "</li>\n";
  html += "</ul>\n";
  for (const auto& modality : modalities_of(runs)) {
    const auto group = runs_of(runs, modality);
    html += "<h2>" + html_escaped(or_missing(modality)) + "</h2>\n" + loss_plot(modality, group);
    for (const auto* run : group) {
      if (!has_previews(*run)) continue;
      html += "<h3>" + html_escaped(run->name) + "</h3>\n";
      for (const auto& picture : run->pictures)
        html += "<img alt=\"" + html_escaped(picture.filename().string()) + "\" src=\"data:" + mime_type(picture) +
                ";base64," + base64(read_bytes(picture)) + "\">\n";
      if (!run->text_samples.empty()) html += "<pre>" + html_escaped(run->text_samples) + "</pre>\n";
    }
  }
  return html + "</body>\n</html>\n";
}

}  // namespace

void write_report(const fs::path& dir, const std::string& title, const std::vector<RunResult>& runs) {
  if (!fs::is_directory(dir))
    throw Error("cannot write the report into " + dir.string() +
                (fs::exists(dir) ? ": it is not a folder" : ": the folder does not exist"));
  // Both documents are built before either is written: a picture that cannot
  // be read leaves no report at all rather than half of one.
  const std::string md = markdown_report(dir, title, runs);
  const std::string html = html_report(title, runs);
  write_durably(dir / "report.md", md);
  write_durably(dir / "report.html", html);
}

}  // namespace cloze
