// The audio modality (plugins/audio), loaded from the build tree like any
// plugin: the mel filterbank against its formula, log-mel spectrograms of
// tones, resampling and mixdown, crop and pad, normalisation, reading a
// folder of WAV/FLAC/OGG files batch by batch with unreadable ones among
// them, random training crops, the unit spec, pictures and the errors a user
// sees; and the reader itself (compiled in from the plugin's sources): any
// run of frames computed from the samples it covers, and crops of long
// recordings, read in part and resampled in part, against the whole
// recording's spectrogram. Every case writes its own fixtures with
// libsndfile; none needs espeak-ng or data/spoken-digits.
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>
#include <samplerate.h>
#include <sndfile.h>

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "clip.h"
#include "cloze/core/corrupted.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/registry.h"
#include "cloze/core/rng.h"
#include "cloze/data/patches.h"
#include "log_mel.h"
#include "mel.h"
#include "resampling.h"
#include "tar_writer.h"
#include "test_support.h"

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
                                      std::shared_ptr<cloze::BadSamples> bad_samples = nullptr, uint64_t seed = 0) {
  return test_support::make_modality("audio", params, std::move(bad_samples), seed);
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

// A recording that is a whole file, as the reader takes it.
cloze::LabelledFile recording(const fs::path& path) {
  cloze::LabelledFile file;
  file.path = path;
  return file;
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

TEST_CASE("labels are the sorted sub-folder names; an unreadable clip stops the batch that meets it, or the next "
          "readable one stands in and it is listed with its reason") {
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

  // loader.on_bad_sample = "error", the default: the normalisation
  // statistics read the centre crops of the train clips when the modality is
  // built, and the first unreadable one stops it.
  CHECK_THROWS_WITH(make(audio_params(f.dir, {})),
                    Contains((f.dir / "one" / "empty.wav").string() + ": cannot be read (") &&
                        Contains("on_bad_sample = \"skip\""));
  CHECK_THROWS_WITH(make(audio_params(f.dir, {}), skipping(0.25)), Contains("of 8 files cannot be read"));
  const auto bad = skipping(0.5);
  const auto modality = make(audio_params(f.dir, {}), bad);
  std::string skipped;
  for (const auto& sample : bad->skipped()) skipped += sample.path.string() + " (" + sample.reason + ")\n";
  CHECK(bad->skipped().size() == 4);
  CHECK_THAT(skipped, Contains("one/empty.wav (") && Contains("two/truncated.wav (") && Contains("two/text.wav (") &&
                          Contains("two/no_frames.wav (no audio frames)"));
  // Sorted: one/a, one/b, one/empty, two/c, two/d, two/no_frames, two/text,
  // two/truncated; one/empty reads as two/c, the last three as one/a (wrapping).
  CHECK(modality->dataset(cloze::Split::train)->size() == 8);
  CHECK(modality->dataset(cloze::Split::eval)->size() == 0);
  const auto batch = whole_split(*modality, cloze::Split::train);
  CHECK(batch.labels.equal(at::tensor(std::vector<int64_t>{0, 0, 1, 1, 1, 0, 0, 0}, at::kLong)));
  CHECK(batch.units[2].equal(batch.units[3]));
  for (const int64_t standing_in : {5, 6, 7}) CHECK(batch.units[standing_in].equal(batch.units[0]));
  CHECK_FALSE(batch.units[0].equal(batch.units[1]));
  CHECK(bad->skipped().size() == 4);  // met again, listed once
  cloze::Corrupted corrupted;
  corrupted.loss_mask = at::zeros({8, batch.grid.numel()}, at::kBool);
  corrupted.loss_mask[3][0] = true;
  CHECK_THAT(modality->preview(batch, corrupted, 3), Contains("two: 1 of 96 patches hidden"));
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
                    Contains((f.dir / "bad").string() + ": none of the split's files can be read (2 tried)"));
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

namespace {

// --- the reader against whole recordings -----------------------------------

// The old way: the whole clip's log-mel, every frame, [n_mels, T], framed by
// at::stft's own centring (reflect padding) on the clip zero-padded to
// n_fft / 2 + 1 samples.
at::Tensor whole_log_mel(const std::vector<float>& samples, const cloze::audio::MelOptions& mel, int64_t hop) {
  const int64_t n_fft = mel.n_fft;
  at::Tensor signal = at::zeros({std::max<int64_t>(static_cast<int64_t>(samples.size()), n_fft / 2 + 1)}, at::kFloat);
  std::copy(samples.begin(), samples.end(), signal.data_ptr<float>());
  const at::Tensor spectrum = at::stft(signal, n_fft, hop, n_fft, at::hann_window(n_fft, true, at::kFloat), true,
                                       "reflect", false, true, true);
  const at::Tensor power = at::view_as_real(spectrum).pow(2).sum(-1);
  return at::log(at::matmul(cloze::audio::mel_filterbank(mel), power) + 1e-6);
}

// Every sample of a mono file, converted as a whole to `rate` (when it is at
// another) by one src_simple call, as the plugin read recordings before it
// streamed them.
std::vector<float> whole_recording(const fs::path& path, int rate) {
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  REQUIRE(file);
  REQUIRE(info.channels == 1);
  std::vector<float> samples(static_cast<std::size_t>(info.frames));
  REQUIRE(sf_readf_float(file, samples.data(), info.frames) == info.frames);
  sf_close(file);
  if (info.samplerate == rate) return samples;
  const double ratio = static_cast<double>(rate) / info.samplerate;
  std::vector<float> out(static_cast<std::size_t>(std::ceil(static_cast<double>(samples.size()) * ratio)) + 1);
  SRC_DATA data{};
  data.data_in = samples.data();
  data.input_frames = static_cast<long>(samples.size());
  data.data_out = out.data();
  data.output_frames = static_cast<long>(out.size());
  data.src_ratio = ratio;
  REQUIRE(src_simple(&data, SRC_SINC_MEDIUM_QUALITY, 1) == 0);
  out.resize(static_cast<std::size_t>(data.output_frames_gen));
  return out;
}

// `seconds` of a chirp from 100 Hz up to 7 kHz over quiet noise: every crop
// of it is different, and none is silent (where log(x + 1e-6) would magnify
// rounding).
std::vector<float> chirp(int rate, double seconds) {
  std::mt19937 noise_source(7);
  std::normal_distribution<double> noise(0, 0.01);
  std::vector<float> samples(static_cast<std::size_t>(std::lround(seconds * rate)));
  const double low = 100, high = 7000;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const double t = static_cast<double>(i) / rate;
    const double phase = 2 * pi * (low * t + (high - low) * t * t / (2 * seconds));
    samples[i] = static_cast<float>(0.4 * std::sin(phase) + noise(noise_source));
  }
  return samples;
}

cloze::audio::SpectrogramOptions spectrogram(int64_t n_fft, int64_t hop) {
  cloze::audio::SpectrogramOptions options;
  options.mel.n_fft = n_fft;
  options.mel.n_mels = 40;
  options.mel.fmax = 8000;
  options.hop = hop;
  return options;
}

double largest_difference(const at::Tensor& a, const at::Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

// Measured: 5e-7 (the mel projection's float rounding differs from BLAS's).
TEST_CASE("any run of frames, computed from the samples it covers, is those columns of the whole clip's spectrogram "
          "to 1e-5") {
  std::mt19937 source(3);
  std::normal_distribution<float> normal(0, 0.3f);
  // n_fft even and odd; clips shorter than n_fft / 2 + 1 (zero-padded), a
  // few frames long, and many frames long.
  for (const auto& [n_fft, hop] : {std::pair<int64_t, int64_t>{400, 160}, {255, 100}}) {
    const cloze::audio::LogMel log_mel(spectrogram(n_fft, hop));
    for (const int64_t length : {int64_t{50}, int64_t{700}, int64_t{16077}}) {
      std::vector<float> clip(static_cast<std::size_t>(length));
      for (float& sample : clip) sample = normal(source);
      const at::Tensor whole = whole_log_mel(clip, log_mel.options().mel, hop);
      const int64_t total = whole.size(1);
      REQUIRE(log_mel.frame_count(length) == total);
      std::set<std::pair<int64_t, int64_t>> runs{{0, total}, {0, 1}, {total - 1, 1}};  // (first, count)
      if (total > 8) runs.insert({{1, 5}, {total / 2, 4}, {total - 5, 5}, {2, total - 4}});
      for (const auto& [first, count] : runs) {
        INFO("n_fft " << n_fft << ", " << length << " samples, frames [" << first << ", " << first + count << ")");
        const cloze::audio::SampleRange needed = log_mel.samples_for(length, first, count);
        REQUIRE(needed.begin >= 0);
        REQUIRE(needed.end <= length);
        // No more than the frames span, plus what the reflection at an end mirrors in.
        CHECK(needed.size() <= (count - 1) * hop + n_fft + 1);
        const std::vector<float> segment(clip.begin() + needed.begin, clip.begin() + needed.end);
        const at::Tensor frames = log_mel.frames(segment, needed.begin, length, first, count);
        REQUIRE(frames.sizes() == at::IntArrayRef({40, count}));
        CHECK(largest_difference(frames, whole.narrow(1, first, count)) < 1e-5);
        // A sample the run needs but the segment lacks is refused, not read as silence.
        if (needed.size() > 1) {
          const std::vector<float> short_segment(segment.begin() + 1, segment.end());
          CHECK_THROWS_AS(log_mel.frames(short_segment, needed.begin + 1, length, first, count), std::out_of_range);
        }
      }
    }
  }
}

TEST_CASE("a crop's source span starts on the resampler's grid, covers the crop with a margin, and reads a bounded "
          "part of the file") {
  for (const auto& [from, to] : {std::pair<int64_t, int64_t>{22050, 16000}, {44100, 16000}, {48000, 16000},
                                 {8000, 16000}, {11025, 16000}, {16000, 44100}, {44101, 16000}}) {
    const int64_t file_frames = from * 3600;  // an hour
    const int64_t length = cloze::audio::resampled_length(file_frames, from, to);
    CHECK(length == file_frames * to / from);
    const int64_t common = std::gcd(from, to);
    const int64_t margin = (cloze::audio::resampling_margin * to + std::min(from, to) - 1) / std::min(from, to);
    for (const int64_t begin : {int64_t{0}, int64_t{37}, length / 3, length - 20000}) {
      const cloze::audio::SampleRange wanted{begin, std::min(length, begin + 15600)};
      INFO(from << " -> " << to << " Hz, samples [" << wanted.begin << ", " << wanted.end << ")");
      const cloze::audio::SourceSpan span = cloze::audio::source_span(wanted, from, to, file_frames);
      CHECK(span.source.begin * to == span.output_begin * from);   // the whole conversion's grid
      CHECK(span.output_begin % (to / common) == 0);
      CHECK(span.output_begin <= std::max<int64_t>(wanted.begin - margin, 0));
      CHECK((span.source.end == file_frames || span.source.end * to >= (wanted.end + margin) * from));
      CHECK(span.source.end <= file_frames);
      // At most the crop, both margins and one period of the rates' grid.
      const double most = static_cast<double>(wanted.size() + 2 * margin + 1) * from / to + from / common + 1;
      CHECK(static_cast<double>(span.source.size()) <= most);
      CHECK(span.source.size() < file_frames / 100);
    }
  }
}

// Measured: 5e-7, as for any run of frames: the segment's conversion is the
// whole file's, sample for sample, inside the margin.
TEST_CASE("crops of a long recording at another rate, read and resampled in part, are the whole recording's frames "
          "to 1e-5") {
  Fixture f("long");
  // 41 s at 22050 Hz, converted to 16 kHz: every crop goes through the
  // resampler on a segment of the file. A second file, as FLAC at 16 kHz,
  // seeks without resampling; a third is two starts long (one frame more
  // than a crop), so its crops read from the file's first sample and up to
  // its last.
  constexpr int64_t frames = 96;
  const cloze::audio::LogMel log_mel(spectrogram(400, 160));
  const fs::path resampled = f.dir / "long_22k.wav", native = f.dir / "long_16k.flac", ends = f.dir / "ends_22k.wav";
  write_sound(resampled, chirp(22050, 41.33), 22050);
  write_sound(native, chirp(16000, 33.7), 16000, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_24);
  write_sound(ends, chirp(22050, 0.965), 22050);  // 21278 samples, 15440 at 16 kHz: 97 frames
  for (const auto& [path, file_rate] : {std::pair{resampled, 22050}, {native, 16000}, {ends, 22050}}) {
    INFO(path.filename().string());
    const at::Tensor whole = whole_log_mel(whole_recording(path, 16000), log_mel.options().mel, 160);
    SF_INFO info{};
    SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
    REQUIRE(file);
    sf_close(file);
    // The length the reader takes from the header is the whole conversion's.
    const int64_t length = cloze::audio::resampled_length(info.frames, file_rate, 16000);
    const int64_t total = log_mel.frame_count(length);
    REQUIRE(total == whole.size(1));
    REQUIRE(total > frames);
    std::string error;
    const at::Tensor centre = cloze::audio::read_clip(recording(path), log_mel, frames, nullptr, error);
    REQUIRE(error.empty());
    REQUIRE(centre.sizes() == at::IntArrayRef({1, 40, frames}));
    CHECK(largest_difference(centre[0], whole.narrow(1, (total - frames) / 2, frames)) < 1e-5);
    std::set<int64_t> starts;
    for (int64_t epoch = 0; epoch < 24; ++epoch) {
      cloze::SampleRng draws(11, cloze::RngStream::augmentation, epoch, 0), same_draws = draws;
      const int64_t start = cloze::audio::crop_start(total, frames, &same_draws);
      starts.insert(start);
      INFO("epoch " << epoch << ": frames from " << start);
      const at::Tensor crop = cloze::audio::read_clip(recording(path), log_mel, frames, &draws, error);
      REQUIRE(error.empty());
      CHECK(largest_difference(crop[0], whole.narrow(1, start, frames)) < 1e-5);
    }
    CHECK(starts.size() >= std::min<std::size_t>(12, static_cast<std::size_t>(total - frames + 1)));
    if (path == ends) CHECK(starts == std::set<int64_t>{0, 1});
    if (path != ends) {
      // What the crops read: a second or so of the file, not all of it.
      const cloze::audio::SampleRange needed = log_mel.samples_for(length, (total - frames) / 2, frames);
      const int64_t read = file_rate == 16000
                               ? needed.size()
                               : cloze::audio::source_span(needed, file_rate, 16000, info.frames).source.size();
      CHECK(read < file_rate * 12 / 10);
      CHECK(read < info.frames / 25);
    }
  }
}

namespace {

// A folder of 8 train clips (train/c/0.wav ..) and 2 eval clips of 1.5 to 3 s,
// each a chirp of its own length at 16 kHz, for random crops of 96 frames.
fs::path crop_folder(const Fixture& f) {
  const fs::path folder = f.dir / "clips";
  for (int i = 0; i < 10; ++i) {
    const fs::path path = folder / (i < 8 ? "train" : "val") / "c" / (std::to_string(i) + ".wav");
    if (!fs::exists(path)) write_sound(path, chirp(16000, 1.5 + 0.2 * i), 16000);
  }
  return folder;
}

// The clips' files in the modality's order: train, then eval.
std::vector<fs::path> crop_files(const fs::path& folder) {
  std::vector<fs::path> files;
  for (int i = 0; i < 10; ++i) files.push_back(folder / (i < 8 ? "train" : "val") / "c" / (std::to_string(i) + ".wav"));
  return files;
}

}  // namespace

TEST_CASE("crop = random: a training sample's crop is drawn from (seed, epoch, sample), the same with 0, 1 and 4 "
          "loader workers and after a resume; eval and collate take the centre") {
  Fixture f("random_crop");
  const fs::path folder = crop_folder(f);
  const auto params = audio_params(folder, {});  // crop = "random" by default
  const auto modality = make(params, nullptr, 5);
  const auto train = modality->dataset(cloze::Split::train), eval = modality->dataset(cloze::Split::eval);
  REQUIRE(train->size() == 8);
  REQUIRE(eval->size() == 2);

  // The plugin's own reader, unnormalised: the centre crops of the train
  // clips are what the level comes from, so every batch is
  // (reader's crop - mean) / std with their mean and std.
  const cloze::audio::LogMel log_mel(cloze::audio::SpectrogramOptions{});
  const auto files = crop_files(folder);
  const auto read = [&](std::size_t file, cloze::SampleRng* draws) {
    std::string error;
    const at::Tensor crop = cloze::audio::read_clip(recording(files[file]), log_mel, 96, draws, error);
    REQUIRE(error.empty());
    return crop[0];
  };
  std::vector<at::Tensor> centres;
  for (std::size_t i = 0; i < 8; ++i) centres.push_back(read(i, nullptr));
  const at::Tensor level = at::stack(centres).to(at::kDouble);
  const double mean = level.mean().item<double>(), std = level.std(/*unbiased=*/false).item<double>();
  const auto normalised = [&](const at::Tensor& crop) { return (crop - mean) / std; };
  const auto spectrogram = [](const cloze::Batch& batch, int64_t row) { return spectrograms_of(batch, 8)[row]; };

  const cloze::Batch centred = train->collate({3, 1});
  CHECK(largest_difference(spectrogram(centred, 0), normalised(centres[3])) < 1e-5);
  CHECK(largest_difference(spectrogram(centred, 1), normalised(centres[1])) < 1e-5);
  CHECK(centred.units.equal(train->collate({3, 1}).units));
  const cloze::Batch evaluated = eval->collate_in_epoch({1, 0}, 3);
  CHECK(evaluated.units.equal(eval->collate({1, 0}).units));
  CHECK(largest_difference(spectrogram(evaluated, 0), normalised(read(9, nullptr))) < 1e-5);

  const cloze::Batch epoch0 = train->collate_in_epoch({3, 1}, 0);
  for (const auto& [row, sample] : {std::pair<int64_t, int64_t>{0, 3}, {1, 1}}) {
    cloze::SampleRng draws(5, cloze::RngStream::augmentation, 0, sample);
    CHECK(largest_difference(spectrogram(epoch0, row), normalised(read(static_cast<std::size_t>(sample), &draws))) <
          1e-5);
  }
  CHECK(epoch0.units.equal(train->collate_in_epoch({3, 1}, 0).units));
  CHECK(epoch0.units[1].equal(train->collate_in_epoch({1}, 0).units[0]));  // a sample's crop does not depend on its batch
  CHECK_FALSE(epoch0.units.equal(train->collate_in_epoch({3, 1}, 1).units));  // another epoch, another crop
  CHECK_FALSE(epoch0.units.equal(centred.units));
  CHECK_FALSE(epoch0.units.equal(make(params, nullptr, 6)->dataset(cloze::Split::train)->collate_in_epoch({3, 1}, 0).units));

  // 6 batches of 4 are 3 epochs of 8 clips, reordered and recropped each epoch.
  test_support::check_stream_repeats(train, 64);

  // crop = "centre": training sees eval's view in every epoch.
  const auto centre_params = audio_params(folder, {{"crop", std::string("centre")}});
  const auto fixed = make(centre_params, nullptr, 5)->dataset(cloze::Split::train);
  CHECK(fixed->collate_in_epoch({3, 1}, 0).units.equal(centred.units));
  CHECK(fixed->collate_in_epoch({3, 1}, 1).units.equal(centred.units));
}


TEST_CASE("tar shards: clips read from WebDataset shards (WAV and FLAC members) equal the same files in a folder") {
  Fixture f("shards");
  test_support::TarMembers members;
  for (int i = 0; i < 6; ++i) {
    const std::string key = "clip" + std::to_string(i);
    const std::string extension = i % 2 ? ".flac" : ".wav";
    const fs::path file = f.dir / "files" / std::to_string(i % 2) / (key + extension);
    write_sound(file, tones({{200.0 + 150 * i, 0.4}, {1800.0 - 100 * i, 0.2}}, 16000, 1.3 + 0.1 * i), 16000, 1,
                i % 2 ? SF_FORMAT_FLAC | SF_FORMAT_PCM_16 : SF_FORMAT_WAV | SF_FORMAT_FLOAT);
    members.push_back({key + extension, test_support::read_bytes(file)});
    members.push_back({key + ".cls", std::to_string(i % 2)});
  }
  test_support::write_tar(f.dir / "shards" / "shard-000000.tar", members);
  const test_support::Settings settings{{"eval_fraction", 0.0}};
  const auto files = make(audio_params(f.dir / "files", settings));
  const auto shards = make(audio_params(f.dir / "shards", settings));
  // Listing order: files by class folder (0/clip0, 0/clip2, ..., 1/clip1, ...), the shard by member.
  const std::vector<int64_t> file_row_of_member{0, 3, 1, 4, 2, 5};
  const cloze::Batch from_files = test_support::whole_split(*files, cloze::Split::train);
  const cloze::Batch from_shards = test_support::whole_split(*shards, cloze::Split::train);
  REQUIRE(from_shards.units.size(0) == 6);
  for (int64_t i = 0; i < 6; ++i) {
    INFO("clip " << i);
    CHECK(at::allclose(from_shards.units[i], from_files.units[file_row_of_member[static_cast<std::size_t>(i)]],
                       1e-5, 1e-5));
    CHECK(from_shards.labels[i].item<int64_t>() == i % 2);
  }
}
