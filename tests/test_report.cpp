// The sweep report: metrics.jsonl read back (garbage skipped), the table's
// exact cells, the verdicts' winners and margins, and report.md / report.html
// written whole, self-contained, with the pictures embedded byte for byte.
#include <algorithm>
#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cloze/error.h"
#include "cloze/report.h"
#include "test_support.h"

namespace fs = std::filesystem;
using cloze::RunResult;

namespace {

// A fresh folder per test, removed afterwards.
struct TempDir : test_support::TempDir {
  TempDir() : test_support::TempDir("report") {}
};

// A valid 1x1 8-bit greyscale PNG (67 bytes: its base64 ends in "=="), and
// its base64 as Python's base64.b64encode gives it.
const unsigned char kGreyPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b, 0x55, 0x00,
    0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x68, 0x00, 0x00, 0x00, 0x82, 0x00, 0x81,
    0xda, 0x45, 0x08, 0x3b, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
const char* const kGreyPngBase64 =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR42mNoAAAAggCB2kUIOwAAAABJRU5ErkJggg==";
// A valid 1x1 8-bit RGB PNG (69 bytes: no padding).
const unsigned char kRgbPng[] = {
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00,
    0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0xc9,
    0xfe, 0x92, 0xef, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};

template <std::size_t N>
std::string bytes_of(const unsigned char (&data)[N]) {
  return std::string(reinterpret_cast<const char*>(data), N);
}

std::string base64_decoded(std::string text) {
  namespace it = boost::archive::iterators;
  using Decoder = it::transform_width<it::binary_from_base64<std::string::const_iterator>, 8, 6>;
  const auto padding = static_cast<std::size_t>(std::count(text.begin(), text.end(), '='));
  std::replace(text.begin(), text.end(), '=', 'A');
  std::string bytes(Decoder(text.begin()), Decoder(text.end()));
  bytes.erase(bytes.size() - padding);
  return bytes;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  for (auto end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (start < text.size()) lines.push_back(text.substr(start));
  return lines;
}

// The cells of one Markdown table line, trimmed.
std::vector<std::string> cells_of(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t start = 1;
  for (auto bar = line.find('|', start); bar != std::string::npos; bar = line.find('|', start)) {
    auto cell = line.substr(start, bar - start);
    cell.erase(0, cell.find_first_not_of(' '));
    cell.erase(cell.find_last_not_of(' ') + 1);
    cells.push_back(cell);
    start = bar + 1;
  }
  return cells;
}

std::size_t code_points(const std::string& text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

const std::string kDash = "\xE2\x80\x93";

RunResult make_run(std::string name, std::string modality, std::string objective, double probe, double random,
                   double raw) {
  RunResult run;
  run.name = std::move(name);
  run.modality = std::move(modality);
  run.objective = std::move(objective);
  run.mode = "fill";
  run.parameters = "ratio=0.75";
  run.steps = 100;
  run.final_loss = 0.5;
  run.probe_accuracy = probe;
  run.random_probe_accuracy = random;
  run.raw_probe_accuracy = raw;
  run.eval_curve = {{0, 1.0}, {50, 0.7}, {100, 0.5}};
  return run;
}

}  // namespace

TEST_CASE("read_metrics reads the eval curve, the last eval values and the mean train speed", "[report]") {
  TempDir dir;
  const auto path = dir.path / "metrics.jsonl";
  test_support::write_bytes(path,
             "{\"loss\":8.3,\"masked_accuracy\":0.0,\"split\":\"eval\",\"step\":0}\n"
             "\n"
             "{\"data_wait\":0.01,\"loss\":8.0,\"lr\":0.0001,\"split\":\"train\",\"step\":10,\"units_per_s\":1000.0}\n"
             "garbage {not json\n"
             "   \n"
             "[1, 2, 3]\n"
             "{\"data_wait\":0.01,\"loss\":7.0,\"lr\":0.0002,\"split\":\"train\",\"step\":20,\"units_per_s\":3000.0}\n"
             "{\"loss\":6.9,\"masked_accuracy\":0.08,\"split\":\"eval\",\"step\":20}\n"
             "{\"loss\":6.5,\"masked_accuracy\":0.1,\"split\":\"eval\",\"step\":20}\n"  // resumed: the later line wins
             "{\"split\":\"train\",\"step\":30,\"units_per_s\":2000}\n"
             "{\"loss\":6.06,\"masked_accuracy\":0.12,\"split\":\"eval\",\"step\":30,\"decoded_accuracy\":0.2}\n"
             "{\"loss\":6.1,\"masked_accuracy\":0.11,\"split\":\"ev");  // cut off mid-line
  RunResult run;
  run.name = "text-mlm";
  cloze::read_metrics(path, run);
  CHECK(run.name == "text-mlm");
  REQUIRE(run.eval_curve.size() == 3);
  CHECK(run.eval_curve[0] == std::pair<int64_t, double>{0, 8.3});
  CHECK(run.eval_curve[1] == std::pair<int64_t, double>{20, 6.5});
  CHECK(run.eval_curve[2] == std::pair<int64_t, double>{30, 6.06});
  CHECK(run.final_loss == 6.06);
  REQUIRE(run.masked_accuracy);
  CHECK(*run.masked_accuracy == 0.12);
  CHECK_FALSE(run.psnr);
  CHECK(run.units_per_s == Approx(2000.0));
  CHECK(run.steps == 30);
}

TEST_CASE("read_metrics takes psnr when the eval line has one, and refuses files without evals", "[report]") {
  TempDir dir;
  const auto path = dir.path / "metrics.jsonl";
  test_support::write_bytes(path, "{\"loss\":0.2,\"psnr\":21.5,\"split\":\"eval\",\"step\":5}\n");
  RunResult run;
  cloze::read_metrics(path, run);
  REQUIRE(run.psnr);
  CHECK(*run.psnr == 21.5);
  CHECK(run.units_per_s == 0);  // no train lines: left as it was

  test_support::write_bytes(path, "{\"split\":\"train\",\"step\":10,\"units_per_s\":5}\n");
  CHECK_THROWS_WITH(cloze::read_metrics(path, run), Catch::Contains(path.string()) && Catch::Contains("no eval"));
  const auto missing = dir.path / "absent" / "metrics.jsonl";
  CHECK_THROWS_WITH(cloze::read_metrics(missing, run), Catch::Contains(missing.string()));
}

TEST_CASE("results_table: a header, one row per run, every cell filled and formatted", "[report]") {
  RunResult text = make_run("text-mlm", "text", "token_mask", 0.4231, 0.3012, 0.3521);
  text.mode = "in_place";
  text.parameters = "ratio=0.15";
  text.steps = 1200;
  text.final_loss = 6.063663;
  text.masked_accuracy = 0.11927;
  text.units_per_s = 19512.6;
  text.wall_seconds = 248.4;
  text.peak_memory_mb = 1812.3;
  RunResult image = make_run("image-mae", "image", "patch_mask", 0.8, 0.7, 0.75);
  image.parameters = "";
  image.final_loss = 0.23119;
  image.psnr = 23.46;
  image.wall_seconds = 3725;
  image.units_per_s = 33845.4;
  image.peak_memory_mb = 96;
  RunResult bare = make_run("audio-mae", "audio", "patch_mask", 0.6, 0.5, 0.4);
  bare.wall_seconds = 42.2;

  const auto lines = lines_of(cloze::results_table({text, image, bare}));
  REQUIRE(lines.size() == 5);  // header, alignment, three runs
  CHECK(cells_of(lines[0]) ==
        std::vector<std::string>{"run", "modality", "objective", "mode", "parameters", "steps", "final masked loss",
                                 "masked accuracy / PSNR", "probe accuracy", "random-init probe", "raw-input probe",
                                 "units/s", "wall time", "peak memory"});
  CHECK(cells_of(lines[2]) == std::vector<std::string>{"text-mlm", "text", "token_mask", "in_place", "ratio=0.15",
                                                       "1,200", "6.064", "11.9%", "42.3%", "30.1%", "35.2%", "19,513",
                                                       "4 min 8 s", "1,812 MB"});
  CHECK(cells_of(lines[3]) == std::vector<std::string>{"image-mae", "image", "patch_mask", "fill", kDash, "100",
                                                       "0.2312", "23.5 dB", "80.0%", "70.0%", "75.0%", "33,845",
                                                       "1 h 2 min 5 s", "96 MB"});
  CHECK(cells_of(lines[4])[7] == kDash);  // neither accuracy nor PSNR
  CHECK(cells_of(lines[4])[12] == "42 s");
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto cells = cells_of(lines[i]);
    CHECK(cells.size() == 14);
    for (const auto& cell : cells) CHECK_FALSE(cell.empty());
  }
  // Padded: every line as wide as the header, numbers right-aligned.
  for (const auto& line : lines) CHECK(code_points(line) == code_points(lines[0]));
  CHECK(lines[1].find("---: |") != std::string::npos);
  CHECK(lines[3].find("|   100 |") != std::string::npos);
}

TEST_CASE("verdicts name each modality's winner, its margins, and a pretraining that lost", "[report]") {
  const std::vector<RunResult> runs = {
      make_run("text-span", "text", "span_mask", 0.401, 0.300, 0.352),
      make_run("text-mlm", "text", "token_mask", 0.423, 0.301, 0.352),
      make_run("image-mae", "image", "patch_mask", 0.70, 0.72, 0.80),
      make_run("audio-mae", "audio", "patch_mask", 0.60, 0.50, 0.40),
      make_run("audio-stripes", "audio", "patch_mask", 0.55, 0.58, 0.40),
  };
  const auto lines = lines_of(cloze::verdicts(runs));
  REQUIRE(lines.size() == 3);  // one per modality, in order of first appearance
  CHECK(lines[0] ==
        "text: text-mlm (token_mask) probes best at 42.3%, 2.2 points over the runner-up text-span (span_mask) at "
        "40.1%, 12.2 points over its random-init encoder (30.1%) and 7.1 points over its raw input (35.2%).");
  CHECK(lines[1] ==
        "image: image-mae (patch_mask) probes best at 70.0% (the only run), 2.0 points under its random-init encoder "
        "(72.0%) and 10.0 points under its raw input (80.0%); pretraining did not beat the random-init baseline.");
  CHECK(lines[2].rfind("audio: audio-mae (patch_mask) probes best at 60.0%, 5.0 points over the runner-up", 0) == 0);
  CHECK(lines[2].find("audio-stripes did not beat its random-init baseline") != std::string::npos);
  CHECK(cloze::verdicts({}).empty());
}

TEST_CASE("write_report writes report.md and a self-contained report.html", "[report]") {
  TempDir dir;
  fs::create_directories(dir.path / "preview");
  const auto grey = dir.path / "preview" / "grey.png";
  const auto rgb = dir.path / "preview" / "rgb.png";
  test_support::write_bytes(grey, bytes_of(kGreyPng));
  test_support::write_bytes(rgb, bytes_of(kRgbPng));

  std::vector<RunResult> runs = {
      make_run("text-mlm", "text", "token_mask", 0.42, 0.30, 0.35),
      make_run("text-span", "text", "span_mask", 0.40, 0.30, 0.35),
      make_run("image-mae", "image", "patch_mask", 0.80, 0.70, 0.75),
      make_run("image-simmim", "image", "patch_mask", 0.78, 0.70, 0.75),
      make_run("audio-mae", "audio", "patch_mask", 0.60, 0.50, 0.40),
  };
  runs[0].text_samples = "if a < b && c > d: \"quoted\"\n";
  runs[2].pictures = {grey, rgb};
  runs[4].eval_curve = {{0, 1.0}};  // a single point
  cloze::write_report(dir.path, "Sweep <1>", runs);

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"preview", "report.html", "report.md"});  // no temporary left

  const auto md = test_support::read_bytes(dir.path / "report.md");
  CHECK(md.rfind("# Sweep <1>\n", 0) == 0);
  CHECK(md.find(cloze::results_table(runs)) != std::string::npos);
  CHECK(md.find("- " + lines_of(cloze::verdicts(runs))[0] + "\n") != std::string::npos);
  CHECK(md.find("](preview/grey.png)") != std::string::npos);
  CHECK(md.find("](preview/rgb.png)") != std::string::npos);
  CHECK(md.find("```\nif a < b && c > d: \"quoted\"\n```\n") != std::string::npos);

  const auto html = test_support::read_bytes(dir.path / "report.html");
  CHECK(html.find("<title>Sweep &lt;1&gt;</title>") != std::string::npos);
  CHECK(count_of(html, "<svg") == 3);       // one plot per modality
  CHECK(count_of(html, "<polyline") == 5);  // one line per run
  CHECK(count_of(html, "<tr>") == 6);       // header and five runs
  CHECK(html.find("<pre>if a &lt; b &amp;&amp; c &gt; d: &quot;quoted&quot;\n</pre>") != std::string::npos);
  CHECK(html.find("http") == std::string::npos);
  CHECK(html.find("src=\"file") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);

  const std::string prefix = "data:image/png;base64,";
  std::vector<std::string> payloads;
  for (auto at = html.find(prefix); at != std::string::npos; at = html.find(prefix, at + 1)) {
    const auto start = at + prefix.size();
    payloads.push_back(html.substr(start, html.find('"', start) - start));
  }
  REQUIRE(payloads.size() == 2);
  CHECK(payloads[0] == kGreyPngBase64);
  CHECK(base64_decoded(payloads[0]) == bytes_of(kGreyPng));
  CHECK(base64_decoded(payloads[1]) == bytes_of(kRgbPng));
}

TEST_CASE("write_report refuses a missing folder and an unreadable picture, naming them", "[report]") {
  TempDir dir;
  const std::vector<RunResult> runs = {make_run("image-mae", "image", "patch_mask", 0.8, 0.7, 0.75)};
  const auto missing = dir.path / "no-such-folder";
  CHECK_THROWS_WITH(cloze::write_report(missing, "t", runs), Catch::Contains(missing.string()));
  CHECK_FALSE(fs::exists(missing));

  auto broken = runs;
  broken[0].pictures = {dir.path / "gone.png"};
  CHECK_THROWS_WITH(cloze::write_report(dir.path, "t", broken), Catch::Contains("gone.png"));
  CHECK(fs::is_empty(dir.path));  // nothing half written
}
