// The report of a comparison sweep: the tables, and report.md / report.html
// written atomically. Sections: the tables, the two documents. The numbers as
// text are in report_text.cpp, the score-against-FLOPs plot in flops_plot.cpp.
#include "cloze/evaluate/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <cctype>
#include <fstream>
#include <iterator>

#include "cloze/core/error.h"
#include "cloze/io/durable_file.h"
#include "flops_plot.h"
#include "report_text.h"

namespace fs = std::filesystem;

namespace cloze {

// ---------------------------------------------------------------- tables

namespace {

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

// ---------------------------------------------------------------- documents

namespace {

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
    md += "\n### " + run.name + " (seed " + std::to_string(run.seed) + ")\n\n";
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
