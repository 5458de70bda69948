// The audio modality (plugins/audio), loaded from the build tree like any
// plugin: the mel filterbank against its formula, log-mel spectrograms of
// tones, resampling and mixdown, crop and pad, normalisation, reading a
// folder of WAV/FLAC/OGG files with unreadable ones among them, the unit
// spec, pictures and the errors a user sees. Every case writes its own tiny
// fixtures with libsndfile; none needs espeak-ng or data/spoken-digits.
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>
#include <sndfile.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/data/patches.h"
#include "test_support.h"
#include "mel.h"

namespace {

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

constexpr double pi = 3.14159265358979323846;

using test_support::registry;

// A fresh folder per test case: ctest runs the cases in parallel.
struct Fixture : test_support::Fixture {
  explicit Fixture(const std::string& name) : test_support::Fixture("audio", name) {}
};

cloze::Params audio_params(const fs::path& path, const test_support::Settings& values) {
  test_support::Settings settings{{"path", path.string()}};
  settings.emplace_back("eval_fraction", 0.0);  // every clip in train unless a case says otherwise
  settings.insert(settings.end(), values.begin(), values.end());
  return test_support::modality_params("audio", settings);
}

std::shared_ptr<cloze::Modality> make(const cloze::Params& params,
                                      std::shared_ptr<cloze::BadSamples> bad_samples = nullptr) {
  return test_support::make_modality("audio", params, std::move(bad_samples));
}

// loader.on_bad_sample = "skip" with loader.max_bad_fraction = `fraction`.
std::shared_ptr<cloze::BadSamples> skipping(double fraction) {
  return std::make_shared<cloze::BadSamples>(true, fraction);
}

using test_support::whole_split;

// The batch's units back as normalised spectrograms [B, n_mels, frames].
at::Tensor spectrograms_of(const cloze::Batch& batch, int64_t patch) {
  return cloze::unpatchify(batch.units, patch, 1, batch.grid).squeeze(1);
}

// --- sound fixtures ------------------------------------------------------

// `seconds` of the sum of sines (frequency, amplitude) at `rate`.
std::vector<float> tones(const std::vector<std::pair<double, double>>& parts, int rate, double seconds) {
  std::vector<float> samples(static_cast<std::size_t>(std::lround(seconds * rate)));
  for (std::size_t i = 0; i < samples.size(); ++i) {
    double value = 0;
    for (const auto& [frequency, amplitude] : parts)
      value += amplitude * std::sin(2 * pi * frequency * static_cast<double>(i) / rate);
    samples[i] = static_cast<float>(value);
  }
  return samples;
}

// Writes interleaved `samples` of `channels` channels; format e.g. SF_FORMAT_WAV | SF_FORMAT_FLOAT.
void write_sound(const fs::path& path, const std::vector<float>& samples, int rate, int channels = 1,
                 int format = SF_FORMAT_WAV | SF_FORMAT_FLOAT) {
  fs::create_directories(path.parent_path());
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(file);
  const auto frames = static_cast<sf_count_t>(samples.size() / static_cast<std::size_t>(channels));
  CHECK(sf_writef_float(file, samples.data(), frames) == frames);
  sf_close(file);
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}


// The HTK triangle of mel filter i at frequency f, written from the formula
// in double precision, independently of mel.cpp.
double triangle(int64_t i, double f, double fmin, double fmax, int64_t n_mels) {
  const auto mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  const auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  const double step = (mel(fmax) - mel(fmin)) / static_cast<double>(n_mels + 1);
  const double left = hz(mel(fmin) + step * i), centre = hz(mel(fmin) + step * (i + 1)),
               right = hz(mel(fmin) + step * (i + 2));
  if (f <= left || f >= right) return 0;
  return f <= centre ? (f - left) / (centre - left) : (right - f) / (right - centre);
}

}  // namespace

TEST_CASE("the mel filterbank is HTK's triangles without area normalisation, to 1e-5") {
  CHECK(cloze::audio::hz_to_mel(1000) == Approx(1000).margin(0.05));  // HTK's scale puts 1000 Hz near 1000 mel
  CHECK(cloze::audio::mel_to_hz(cloze::audio::hz_to_mel(3210)) == Approx(3210));
  for (const auto& [rate, n_fft, n_mels, fmin, fmax] :
       {std::tuple{16000, 400, 64, 0.0, 8000.0}, std::tuple{22050, 512, 40, 50.0, 7600.0}}) {
    INFO(rate << " Hz, n_fft " << n_fft << ", " << n_mels << " mels");
    cloze::audio::MelOptions options;
    options.sample_rate = rate;
    options.n_fft = n_fft;
    options.n_mels = n_mels;
    options.fmin = fmin;
    options.fmax = fmax;
    const at::Tensor bank = cloze::audio::mel_filterbank(options);
    REQUIRE(bank.sizes() == at::IntArrayRef({n_mels, n_fft / 2 + 1}));
    for (int64_t i = 0; i < n_mels; ++i)
      for (int64_t k = 0; k < n_fft / 2 + 1; ++k)
        REQUIRE(bank[i][k].item<float>() ==
                Approx(triangle(i, static_cast<double>(k) * rate / n_fft, fmin, fmax, n_mels)).margin(1e-5));
    CHECK(bank.max().item<float>() <= 1.0f);  // peaks of 1, not areas of 1
  }
}

TEST_CASE("a 1000 Hz tone puts its energy in the mel bin whose triangle is highest at 1000 Hz") {
  Fixture f("tone");
  write_sound(f.dir / "tone.wav", tones({{1000, 0.5}}, 16000, 1.0), 16000);
  const auto modality = make(audio_params(f.dir, {}));                                          // 64 mels up to 8 kHz
  const at::Tensor spectrogram = spectrograms_of(whole_split(*modality, cloze::Split::train), 8)[0];  // [64, 96]
  int64_t expected = 0;
  for (int64_t i = 1; i < 64; ++i)
    if (triangle(i, 1000, 0, 8000, 64) > triangle(expected, 1000, 0, 8000, 64)) expected = i;
  CHECK(expected == 22);  // HTK: 1000 Hz is 1000 mel, 22.9 steps of 2840/65 mel
  CHECK(spectrogram.mean(1).argmax().item<int64_t>() == expected);
  const at::Tensor peak_per_frame = spectrogram.argmax(0);  // [96]: the same bin in every frame
  CHECK((peak_per_frame == expected).all().item<bool>());
}

TEST_CASE("a 44.1 kHz recording is resampled to match a 16 kHz one, and stereo mixes down to the mean") {
  Fixture f("resample");
  const std::vector<std::pair<double, double>> parts{{440, 0.3}, {1800, 0.2}};
  write_sound(f.dir / "a_16k.wav", tones(parts, 16000, 1.0), 16000);
  write_sound(f.dir / "b_44k.wav", tones(parts, 44100, 1.0), 44100);
  const std::vector<float> left = tones({{440, 0.6}}, 16000, 1.0), right = tones({{1500, 0.2}}, 16000, 1.0);
  std::vector<float> stereo, mean;
  for (std::size_t i = 0; i < left.size(); ++i) {
    stereo.insert(stereo.end(), {left[i], right[i]});
    mean.push_back((left[i] + right[i]) / 2);
  }
  write_sound(f.dir / "c_stereo.wav", stereo, 16000, 2);
  write_sound(f.dir / "d_mean.wav", mean, 16000);
  const auto modality = make(audio_params(f.dir, {}));
  const at::Tensor spectrograms = spectrograms_of(whole_split(*modality, cloze::Split::train), 8);  // sorted by name

  // Where the tones are (within 2 normalised units of the loudest bin), the two rates agree to 1e-3 (measured:
  // 2e-7; SRC_SINC_MEDIUM_QUALITY's noise is 121 dB down). Unresampled, the 44.1 kHz file would put its tones
  // 2.76 times lower.
  const at::Tensor native = spectrograms[0], resampled = spectrograms[1];
  const at::Tensor loud = native > native.max() - 2;
  REQUIRE(loud.sum().item<int64_t>() > 100);
  CHECK(((native - resampled).abs().masked_select(loud)).max().item<float>() < 1e-3);
  CHECK((native - resampled).abs().mean().item<float>() < 1e-3);
  CHECK(at::allclose(spectrograms[2], spectrograms[3], 1e-5, 1e-5));
}

TEST_CASE("clips are centre-cropped or padded with silence at the end to `frames`") {
  Fixture f("crop_pad");
  // 3 s, silent but for a 1000 Hz tone from 1 s to 2 s: a centred crop of 96 frames (0.96 s) lies inside it.
  std::vector<float> burst(48000, 0.0f);
  const std::vector<float> tone = tones({{1000, 0.5}}, 16000, 1.0);
  std::copy(tone.begin(), tone.end(), burst.begin() + 16000);
  write_sound(f.dir / "a_burst.wav", burst, 16000);
  write_sound(f.dir / "b_short.wav", tones({{1000, 0.5}}, 16000, 0.5), 16000);  // 1 + 8000 / 160 = 51 frames
  write_sound(f.dir / "c_silence.wav", std::vector<float>(16000, 0.0f), 16000);
  const auto modality = make(audio_params(f.dir, {}));
  const at::Tensor spectrograms = spectrograms_of(whole_split(*modality, cloze::Split::train), 8);  // [3, 64, 96]
  REQUIRE(spectrograms.sizes() == at::IntArrayRef({3, 64, 96}));
  // Silence is log(0 + 1e-6) everywhere, normalised; the padding is the same value.
  const float silence = spectrograms[2].max().item<float>();
  CHECK(spectrograms[2].min().item<float>() == Approx(silence).margin(1e-5));
  CHECK((spectrograms[0].amax(0) > silence + 1).all().item<bool>());  // every frame holds the tone
  const at::Tensor short_clip = spectrograms[1];
  CHECK((short_clip.narrow(1, 0, 51).amax(0) > silence + 1).all().item<bool>());
  CHECK((short_clip.narrow(1, 51, 45) - silence).abs().max().item<float>() < 1e-5);
}

TEST_CASE("units(): continuous p*p values on an [n_mels/p, frames/p] grid, normalised to mean 0 and std 1") {
  Fixture f("units");
  write_sound(f.dir / "x" / "a.wav", tones({{300, 0.4}, {2500, 0.1}}, 16000, 0.7), 16000);
  write_sound(f.dir / "x" / "b.wav", tones({{700, 0.2}}, 8000, 1.2), 8000);
  const auto modality =
      make(audio_params(f.dir, {{"n_mels", int64_t{32}}, {"frames", int64_t{48}}, {"patch_size", int64_t{4}}}));
  CHECK(modality->units().kind == cloze::UnitKind::continuous);
  CHECK(modality->units().unit_dim == 16);
  CHECK_FALSE(modality->units().normalize_targets);
  CHECK(modality->grid().dims == std::vector<int64_t>{8, 12});
  const auto batch = whole_split(*modality, cloze::Split::train);
  CHECK(batch.units.sizes() == at::IntArrayRef({2, 96, 16}));
  CHECK(batch.units.scalar_type() == at::kFloat);
  CHECK(batch.padding.sizes() == at::IntArrayRef({2, 96}));
  CHECK_FALSE(batch.padding.any().item<bool>());
  CHECK(batch.sample_ids == std::vector<int64_t>{0, 1});
  const at::Tensor values = batch.units.to(at::kDouble);
  CHECK(values.mean().item<double>() == Approx(0).margin(1e-4));
  CHECK(values.std(/*unbiased=*/false).item<double>() == Approx(1).margin(1e-4));
  CHECK(make(audio_params(f.dir, {{"norm_pix", true}}))->units().normalize_targets);
}

TEST_CASE("labels are the sorted sub-folder names; unreadable clips stop the load, or are skipped and listed with "
          "their reasons") {
  Fixture f("labels");
  write_sound(f.dir / "one" / "a.wav", tones({{500, 0.3}}, 16000, 0.5), 16000);
  write_sound(f.dir / "one" / "b.FLAC", tones({{600, 0.3}}, 16000, 0.5), 16000, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  write_sound(f.dir / "two" / "c.ogg", tones({{700, 0.3}}, 16000, 0.5), 16000, 1, SF_FORMAT_OGG | SF_FORMAT_VORBIS);
  write_sound(f.dir / "two" / "d.wav", tones({{800, 0.3}}, 22050, 0.5), 22050, 1, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  std::ofstream(f.dir / "one" / "empty.wav").flush();                                                  // zero bytes
  std::ofstream(f.dir / "two" / "truncated.wav") << read_text(f.dir / "one" / "a.wav").substr(0, 30);  // header cut
  std::ofstream(f.dir / "two" / "text.wav") << "not a recording, just text";
  write_sound(f.dir / "two" / "no_frames.wav", {}, 16000);  // a good header over no samples
  std::ofstream(f.dir / "two" / "notes.txt") << "ignored: not a recording's extension";

  CHECK_THROWS_WITH(make(audio_params(f.dir, {})),
                    Contains((f.dir / "one" / "empty.wav").string() + ": cannot be read (") && Contains("nor can 3 more"));
  const auto bad = skipping(0.5);
  const auto modality = make(audio_params(f.dir, {}), bad);
  std::string skipped;
  for (const auto& sample : bad->skipped()) skipped += sample.path.string() + " (" + sample.reason + ")\n";
  CHECK(bad->skipped().size() == 4);
  CHECK_THAT(skipped, Contains("one/empty.wav (") && Contains("two/truncated.wav (") && Contains("two/text.wav (") &&
                          Contains("two/no_frames.wav (no audio frames)"));
  CHECK(modality->dataset(cloze::Split::train)->size() == 4);  // one/a, one/b, two/c, two/d
  CHECK(modality->dataset(cloze::Split::eval)->size() == 0);
  const auto batch = whole_split(*modality, cloze::Split::train);
  CHECK(batch.labels.equal(at::tensor(std::vector<int64_t>{0, 0, 1, 1}, at::kLong)));
  cloze::Corrupted corrupted;
  corrupted.loss_mask = at::zeros({4, batch.grid.numel()}, at::kBool);
  corrupted.loss_mask[2][0] = true;
  CHECK_THAT(modality->preview(batch, corrupted, 2), Contains("two: 1 of 96 patches hidden"));
}

TEST_CASE("train/ and val/ sub-folders are the splits, otherwise a fixed hash of the path holds out eval") {
  Fixture f("splits");
  for (int i = 0; i < 2; ++i) {
    write_sound(f.dir / "split" / "train" / "a" / (std::to_string(i) + ".wav"), tones({{400, 0.3}}, 16000, 0.3), 16000);
    write_sound(f.dir / "split" / "train" / "b" / (std::to_string(i) + ".wav"), tones({{900, 0.3}}, 16000, 0.3), 16000);
  }
  write_sound(f.dir / "split" / "val" / "b" / "0.wav", tones({{900, 0.3}}, 16000, 0.3), 16000);
  const auto split = make(audio_params(f.dir / "split", {}));
  CHECK(split->dataset(cloze::Split::train)->size() == 4);
  CHECK(whole_split(*split, cloze::Split::eval).labels.equal(at::tensor(std::vector<int64_t>{1}, at::kLong)));

  for (int i = 0; i < 12; ++i)
    write_sound(f.dir / "hashed" / "x" / (std::to_string(i) + ".wav"), tones({{400.0 + 50 * i, 0.3}}, 16000, 0.3),
                16000);
  const auto params = audio_params(f.dir / "hashed", {{"eval_fraction", 0.3}});
  const auto first = make(params), second = make(params);
  const int64_t eval = first->dataset(cloze::Split::eval)->size();
  CHECK(eval > 0);
  CHECK(eval < 12);
  CHECK(first->dataset(cloze::Split::train)->size() == 12 - eval);
  CHECK(whole_split(*first, cloze::Split::eval).units.equal(whole_split(*second, cloze::Split::eval).units));
  const auto limited = make(audio_params(f.dir / "hashed", {{"max_train", int64_t{3}}}));
  CHECK(limited->dataset(cloze::Split::train)->size() == 3);
}

TEST_CASE("nothing readable is an error naming the folder, and bad values name their key") {
  Fixture f("errors");
  fs::create_directories(f.dir / "bad" / "c");
  std::ofstream(f.dir / "bad" / "c" / "empty.wav").flush();
  std::ofstream(f.dir / "bad" / "c" / "text.ogg") << "not a recording";
  CHECK_THROWS_WITH(make(audio_params(f.dir / "bad", {}), skipping(1.0)),
                    Contains("modality.path") && Contains((f.dir / "bad").string()) && Contains("no readable"));
  fs::create_directories(f.dir / "none");
  CHECK_THROWS_WITH(make(audio_params(f.dir / "none", {})),
                    Contains((f.dir / "none").string()) && Contains("holds no"));
  CHECK_THROWS_WITH(make(audio_params(f.dir / "nowhere", {})), Contains("modality.path") && Contains("no such folder"));
  CHECK_THROWS_WITH(make(audio_params(f.dir / "bad", {{"patch_size", int64_t{5}}})),
                    Contains("modality.patch_size = 5") && Contains("n_mels 64"));
  CHECK_THROWS_WITH(make(audio_params(f.dir / "bad", {{"frames", int64_t{100}}})),
                    Contains("modality.patch_size = 8") && Contains("frames 100"));
  CHECK_THROWS_WITH(make(audio_params(f.dir / "bad", {{"hop", int64_t{500}}})), Contains("modality.hop = 500"));
  CHECK_THROWS_WITH(make(audio_params(f.dir / "bad", {{"fmax", 9000.0}})), Contains("modality.fmax"));
  CHECK_THROWS_WITH(make(audio_params(f.dir / "bad", {{"n_mels", int64_t{256}}})), Contains("modality.n_mels = 256"));
  // 32 mels over 64-point FFT bins 250 Hz apart: the lowest filters are narrower than a bin.
  CHECK_THROWS_WITH(
      make(audio_params(f.dir / "bad", {{"n_fft", int64_t{64}}, {"hop", int64_t{32}}, {"n_mels", int64_t{32}}})),
      Contains("modality.n_mels = 32") && Contains("catches none"));
}

TEST_CASE("audio: collate is the same from many threads at once") {
  Fixture f("threads");
  for (int i = 0; i < 4; ++i)
    write_sound(f.dir / "x" / (std::to_string(i) + ".wav"), tones({{300.0 * (i + 1), 0.3}}, 16000, 0.4), 16000);
  const auto modality = make(audio_params(f.dir, {}));
  const auto dataset = modality->dataset(cloze::Split::train);
  const at::Tensor expected = dataset->collate({3, 0, 2}).units;
  std::vector<int> same(8, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < same.size(); ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) same[t] += dataset->collate({3, 0, 2}).units.equal(expected);
    });
  for (auto& thread : threads) thread.join();
  for (const int count : same) CHECK(count == 20);
}

TEST_CASE("write_picture writes a PNG of the panels side by side, about 200 px tall") {
  Fixture f("picture");
  write_sound(f.dir / "x" / "a.wav", tones({{1000, 0.5}}, 16000, 1.0), 16000);
  write_sound(f.dir / "x" / "b.wav", tones({{300, 0.5}}, 16000, 0.5), 16000);
  const auto modality = make(audio_params(f.dir, {}));
  const auto batch = whole_split(*modality, cloze::Split::train);  // 64 x 96: scaled 3x to 192 x 288
  cloze::Corrupted corrupted;
  corrupted.input = batch.units;
  corrupted.target = batch.units;
  corrupted.loss_mask = at::zeros({2, batch.grid.numel()}, at::kBool);
  corrupted.loss_mask[0][5] = true;
  const fs::path two = f.dir / "two.png", four = f.dir / "four.png";
  REQUIRE(modality->write_picture(batch, corrupted, nullptr, 0, two));
  REQUIRE(modality->write_picture(batch, corrupted, &corrupted, 0, four));
  const cv::Mat two_panels = cv::imread(two.string(), cv::IMREAD_UNCHANGED);
  const cv::Mat four_panels = cv::imread(four.string(), cv::IMREAD_UNCHANGED);
  REQUIRE_FALSE(two_panels.empty());
  REQUIRE_FALSE(four_panels.empty());
  CHECK(two_panels.rows == 192);
  CHECK(two_panels.cols >= 2 * 288);  // plus a thin gap between panels
  CHECK(two_panels.cols < 2 * 288 + 16);
  CHECK(four_panels.cols >= 4 * 288);
}
