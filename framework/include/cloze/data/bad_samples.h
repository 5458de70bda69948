// Samples a modality cannot read: a picture that does not decode, a clip that
// libsndfile refuses. loader.on_bad_sample decides what happens:
//
//   "error" (default)  the first one stops the run, naming the file and why;
//   "skip"             each is left out and recorded (the trainer writes them
//                      to <run>/bad_samples.jsonl), and a folder with more
//                      than loader.max_bad_fraction of its files unreadable
//                      stops the run: that is a broken dataset, not a few
//                      bad files.
//
// Readers that decode everything up front report a whole folder at once;
// readers that stream (decoding in the loader threads) report each file when
// a batch first meets it, from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "cloze/core/params.h"

namespace cloze {

struct BadSample {
  std::filesystem::path path;
  std::string reason;
};

// One JSON object per line: {"path": ..., "reason": ...}.
std::string to_jsonl(const std::vector<BadSample>& samples);
// Reads what to_jsonl wrote; throws cloze::Error naming file:line otherwise.
std::vector<BadSample> read_jsonl(const std::filesystem::path& file);

class BadSamples {
 public:
  BadSamples() = default;  // "error"
  BadSamples(bool skip, double max_fraction) : skip_(skip), max_fraction_(max_fraction) {}
  static std::shared_ptr<BadSamples> from(const Params& loader);  // validates, naming the key

  // A reader's account of `source` (a folder, a corpus): `unreadable` of its
  // `total` samples, which messages call `samples` ("files", "documents").
  // Throws cloze::Error as the policy says; otherwise records them.
  void report(const std::string& source, const std::vector<BadSample>& unreadable, int64_t total,
              const std::string& samples = "files");

  // A streaming reader's account of one file of `source`'s `total`; thread-safe.
  // The same file met again (the next epoch) is recorded once. Throws as
  // report() does, the share counted over the files of `source` met so far.
  void report_one(const std::string& source, const BadSample& sample, int64_t total,
                  const std::string& samples = "files");

  std::vector<BadSample> skipped() const;  // in the order they were met

 private:
  bool skip_ = false;
  double max_fraction_ = 0.01;
  mutable std::mutex mutex_;
  std::vector<BadSample> skipped_;
  std::set<std::filesystem::path> recorded_;       // report_one's files
  std::map<std::string, int64_t> per_source_;       // report_one's count per source
};

}  // namespace cloze
