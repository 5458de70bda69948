// The sweep report: metrics.jsonl read back (garbage skipped), the tables'
// exact cells with their intervals, verdicts that name a winner only beyond
// noise, and report.md / report.html written whole, self-contained, with the
// score-against-FLOPs plots and the pictures embedded byte for byte.
#include <algorithm>
#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/evaluate/report.h"
#include <cmath>
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

// `n` eval outcomes of which the first round(accuracy * n) are right.
cloze::Score score(double accuracy, std::size_t n = 400) {
  cloze::Score out;
  out.correct.assign(n, 0);
  const auto right = static_cast<std::size_t>(std::lround(accuracy * static_cast<double>(n)));
  std::fill(out.correct.begin(), out.correct.begin() + static_cast<std::ptrdiff_t>(right), 1);
  out.accuracy = static_cast<double>(right) / static_cast<double>(n);
  return out;
}

// One seed of a run, scored by the linear probe at `probe`, its random-init
// encoder at `random` and the raw inputs at `raw`.
RunResult make_run(std::string name, std::string modality, std::string objective, double probe, double random,
                   double raw, int64_t seed = 1) {
  RunResult run;
  run.name = std::move(name);
  run.seed = seed;
  run.modality = std::move(modality);
  run.objective = std::move(objective);
  run.mode = "fill";
  run.parameters = "ratio=0.75";
  run.steps = 100;
  run.final_loss = 0.5;
  run.protocols["linear"] = {score(probe), score(random), score(raw)};
  run.majority_accuracy = 0.1;
  run.classes = 10;
  run.train_flops = 2.5e12;
  run.eval_curve = {{0, 1.0}, {50, 0.7}, {100, 0.5}};
  return run;
}

const std::vector<std::string> kLinear{"linear"};

// The lines of the Markdown table headed "### title".
std::vector<std::string> table_lines(const std::string& text, const std::string& title) {
  const auto lines = lines_of(text);
  std::vector<std::string> table;
  auto at = std::find(lines.begin(), lines.end(), "### " + title);
  if (at == lines.end()) return table;
  for (at += 2; at != lines.end() && !at->empty() && (*at)[0] == '|'; ++at) table.push_back(*at);
  return table;
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
             "{\"data_wait\":0.01,\"flops\":2e9,\"loss\":7.0,\"lr\":0.0002,\"split\":\"train\",\"step\":20,\"units_per_s\":3000.0}\n"
             "{\"loss\":6.9,\"masked_accuracy\":0.08,\"split\":\"eval\",\"step\":20}\n"
             "{\"loss\":6.5,\"masked_accuracy\":0.1,\"split\":\"eval\",\"step\":20}\n"  // resumed: the later line wins
             "{\"split\":\"train\",\"step\":30,\"units_per_s\":2000,\"flops\":3e9}\n"
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
  CHECK(run.train_flops == 3e9);  // the last train line's count
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

TEST_CASE("an accuracy's interval over seeds stays within 0% and 100%", "[report]") {
  // Three seeds near 0: mean 0.02, sd 0.02, so the t interval (t = 4.30 at 2
  // degrees of freedom) is 0.02 -/+ 0.05 and would start below 0.
  const cloze::Score low_a = score(0.0), low_b = score(0.02), low_c = score(0.04);
  const auto low = cloze::estimate({&low_a, &low_b, &low_c});
  CHECK(low.mean == Approx(0.02));
  CHECK(low.interval.low == 0.0);
  CHECK(low.interval.high == Approx(0.02 + 4.302653 * 0.02 / std::sqrt(3.0)).epsilon(1e-4));
  const cloze::Score high_a = score(1.0), high_b = score(0.98), high_c = score(0.96);
  const auto high = cloze::estimate({&high_a, &high_b, &high_c});
  CHECK(high.interval.high == 1.0);
  CHECK(high.interval.low == Approx(0.98 - 4.302653 * 0.02 / std::sqrt(3.0)).epsilon(1e-4));
}

TEST_CASE("results_table: pretraining, each protocol with intervals, and the tasks", "[report]") {
  std::vector<RunResult> results;
  for (int64_t seed = 1; seed <= 3; ++seed) {
    RunResult text = make_run("text-mlm", "text", "token_mask", 0.40 + 0.01 * static_cast<double>(seed), 0.30, 0.35, seed);
    text.mode = "in_place";
    text.parameters = "ratio=0.15";
    text.steps = 1200;
    text.final_loss = 6.0 + 0.1 * static_cast<double>(seed);
    text.masked_accuracy = 0.12;
    text.unigram_accuracy = 0.07;
    text.units_per_s = 19512.6;
    text.wall_seconds = 248.4;
    text.peak_memory_mb = 1800 + static_cast<double>(seed);
    text.train_flops = 1.234e13;
    results.push_back(text);
  }
  RunResult image = make_run("image-mae", "image", "patch_mask", 0.8, 0.7, 0.75);
  image.parameters = "";
  image.psnr = 23.46;
  image.wall_seconds = 3725;
  image.train_flops = std::nan("");
  results.push_back(image);

  const std::string text = cloze::results_table(results, kLinear);
  const auto pretraining = table_lines(text, "Pretraining");
  REQUIRE(pretraining.size() == 4);  // header, alignment, two runs
  CHECK(cells_of(pretraining[0]) ==
        std::vector<std::string>{"run", "modality", "objective", "mode", "parameters", "seeds", "steps",
                                 "final masked loss", "masked accuracy / PSNR", "unigram masked accuracy",
                                 "train FLOPs", "units/s", "wall time", "peak memory"});
  CHECK(cells_of(pretraining[2]) == std::vector<std::string>{"text-mlm", "text", "token_mask", "in_place", "ratio=0.15",
                                                             "3", "1,200", "6.2", "12.0%", "7.0%", "12.3 TFLOP",
                                                             "19,513", "4 min 8 s", "1,803 MB"});
  CHECK(cells_of(pretraining[3]) == std::vector<std::string>{"image-mae", "image", "patch_mask", "fill", kDash, "1",
                                                             "100", "0.5", "23.5 dB", kDash, kDash, "0",
                                                             "1 h 2 min 5 s", "0 MB"});
  for (const auto& line : pretraining) CHECK(code_points(line) == code_points(pretraining[0]));  // padded

  // Three seeds at 41, 42, 43%: mean 42, s = 1, t(0.975, 2) = 4.3027 -> +-2.48.
  const auto linear = table_lines(text, "linear probe accuracy, mean ± std over seeds [95% interval]");
  REQUIRE(linear.size() == 4);
  CHECK(cells_of(linear[0]) == std::vector<std::string>{"run", "modality", "seeds", "pretrained", "random-init",
                                                        "gain over random-init (points)", "raw input"});
  const auto mlm = cells_of(linear[2]);
  CHECK(mlm[2] == "3");
  CHECK(mlm[3] == "42.0% ± 1.0 [39.5, 44.5]");
  // The same outcomes on every seed (as the raw inputs have): a bootstrap over
  // the 400 samples, sd sqrt(0.3 * 0.7 / 400) = 2.3 points, not a zero-width t.
  CHECK(mlm[4].rfind("30.0% ± 2.", 0) == 0);
  CHECK(mlm[6].rfind("35.0% ± 2.", 0) == 0);
  CHECK(mlm[5] == "+12.0 [+9.5, +14.5]");
  // One seed: a bootstrap interval over the 400 eval samples, about +-3.9 points at 80%.
  const auto mae = cells_of(linear[3]);
  CHECK(mae[2] == "1");
  CHECK(mae[3].rfind("80.0% ± 2.", 0) == 0);

  const auto tasks = table_lines(text, "Tasks");
  REQUIRE(tasks.size() == 4);
  CHECK(cells_of(tasks[2]) == std::vector<std::string>{"text", "10", "400", "10.0%"});
  CHECK(cells_of(tasks[3])[0] == "image");
}

TEST_CASE("verdicts name a winner only beyond noise, and each run against its random-init encoder", "[report]") {
  std::vector<RunResult> results;
  for (int64_t seed = 1; seed <= 3; ++seed) {
    const double jitter = 0.01 * static_cast<double>(seed);
    results.push_back(make_run("text-mlm", "text", "token_mask", 0.50 + jitter, 0.30, 0.35, seed));
    results.push_back(make_run("text-span", "text", "span_mask", 0.40 + jitter, 0.30, 0.35, seed));
    // Image: two runs whose seeds overlap, one of them no better than its random-init encoder.
    results.push_back(make_run("image-mae", "image", "patch_mask", 0.80 + (seed == 2 ? 0.02 : -0.01), 0.70, 0.75, seed));
    results.push_back(make_run("image-simmim", "image", "patch_mask", 0.80 + (seed == 3 ? 0.02 : -0.01), 0.80, 0.75, seed));
  }
  const auto lines = lines_of(cloze::verdicts(results, kLinear));
  REQUIRE(lines.size() == 2);  // one per modality and protocol
  CHECK(lines[0].rfind("text, linear probe: text-mlm 52.0% leads, +10.0 [+10.0, +10.0] points over the runner-up "
                       "text-span 42.0% (paired t over 3 seeds), beyond noise",
                       0) == 0);
  CHECK(lines[0].find("beyond its random-init encoder: text-mlm +22.0 [+19.5, +24.5] points") != std::string::npos);
  CHECK(lines[1].rfind("image, linear probe: image-mae 80.0% and image-simmim 80.0% are level within noise", 0) == 0);
  CHECK(lines[1].find("includes 0") != std::string::npos);
  CHECK(lines[1].find("beyond its random-init encoder: image-mae +10.0 [") != std::string::npos);
  CHECK(lines[1].find("not beyond its random-init encoder: image-simmim +0.0 [") != std::string::npos);
  CHECK(lines[1].find("leads") == std::string::npos);

  // A noisy run level with the best, and a steadier one the best leads beyond
  // noise although its mean is higher than the noisy one's: the sentence
  // says only what the intervals support.
  std::vector<RunResult> mixed;
  const double a[] = {0.60, 0.61, 0.62}, b[] = {0.30, 0.55, 0.80}, c[] = {0.57, 0.58, 0.59};
  for (int64_t seed = 1; seed <= 3; ++seed) {
    const auto k = static_cast<std::size_t>(seed - 1);
    mixed.push_back(make_run("a", "audio", "patch_mask", a[k], 0.5, 0.4, seed));
    mixed.push_back(make_run("b", "audio", "patch_mask", b[k], 0.5, 0.4, seed));
    mixed.push_back(make_run("c", "audio", "patch_mask", c[k], 0.5, 0.4, seed));
  }
  const auto mixed_verdict = cloze::verdicts(mixed, kLinear);
  CHECK(mixed_verdict.rfind("audio, linear probe: a 61.0% and b 55.0% are level within noise (a against b: ", 0) == 0);
  CHECK(mixed_verdict.find("; a leads c 58.0% beyond noise;") != std::string::npos);

  // One seed each: two runs 1 point apart on 400 samples, right on different
  // samples, are level by the paired bootstrap.
  std::vector<RunResult> close = {make_run("a", "audio", "patch_mask", 0.60, 0.50, 0.40),
                                  make_run("b", "audio", "patch_mask", 0.59, 0.50, 0.40)};
  auto& outcomes = close[1].protocols["linear"].trained.correct;
  std::reverse(outcomes.begin(), outcomes.end());
  const auto single = cloze::verdicts(close, kLinear);
  CHECK(single.find("are level within noise") != std::string::npos);
  CHECK(single.find("paired bootstrap over 400 eval samples") != std::string::npos);
  CHECK(cloze::verdicts({}, kLinear).empty());
}

TEST_CASE("write_report writes report.md and a self-contained report.html with score-against-FLOPs plots", "[report]") {
  TempDir dir;
  fs::create_directories(dir.path / "preview");
  const auto grey = dir.path / "preview" / "grey.png";
  const auto rgb = dir.path / "preview" / "rgb.png";
  test_support::write_bytes(grey, bytes_of(kGreyPng));
  test_support::write_bytes(rgb, bytes_of(kRgbPng));

  std::vector<RunResult> runs;
  for (int64_t seed = 1; seed <= 2; ++seed) {
    runs.push_back(make_run("text-mlm", "text", "token_mask", 0.42, 0.30, 0.35, seed));
    runs.push_back(make_run("text-span", "text", "span_mask", 0.40, 0.30, 0.35, seed));
  }
  runs.push_back(make_run("image-mae", "image", "patch_mask", 0.80, 0.70, 0.75));
  runs.push_back(make_run("image-simmim", "image", "patch_mask", 0.78, 0.70, 0.75));
  runs[0].text_samples = "if a < b && c > d: \"quoted\"\n";
  runs[4].pictures = {grey, rgb};
  cloze::write_report(dir.path, "Sweep <1>", runs, kLinear);

  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"preview", "report.html", "report.md"});  // no temporary left

  const auto md = test_support::read_bytes(dir.path / "report.md");
  CHECK(md.rfind("# Sweep <1>\n", 0) == 0);
  CHECK(md.find(cloze::results_table(runs, kLinear)) != std::string::npos);
  CHECK(md.find("- " + lines_of(cloze::verdicts(runs, kLinear))[0] + "\n") != std::string::npos);
  CHECK(md.find("](preview/grey.png)") != std::string::npos);
  CHECK(md.find("](preview/rgb.png)") != std::string::npos);
  CHECK(md.find("### text-mlm (seed 1)\n\n```\nif a < b && c > d: \"quoted\"\n```\n") != std::string::npos);

  const auto html = test_support::read_bytes(dir.path / "report.html");
  CHECK(html.find("<title>Sweep &lt;1&gt;</title>") != std::string::npos);
  CHECK(count_of(html, "<svg") == 2);  // one plot per modality and protocol
  CHECK(count_of(html, "class=\"run\"") == 4);  // one point per run
  // Error bars on every point, pretrained and random-init alike.
  CHECK(count_of(html, "class=\"error-bar\"") == 8);
  CHECK(html.find("training FLOPs (log scale)") != std::string::npos);
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
  CHECK_THROWS_WITH(cloze::write_report(missing, "t", runs, kLinear), Catch::Contains(missing.string()));
  CHECK_FALSE(fs::exists(missing));

  auto broken = runs;
  broken[0].pictures = {dir.path / "gone.png"};
  CHECK_THROWS_WITH(cloze::write_report(dir.path, "t", broken, kLinear), Catch::Contains("gone.png"));
  CHECK(fs::is_empty(dir.path));  // nothing half written
}
