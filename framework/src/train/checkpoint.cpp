#include "cloze/train/checkpoint.h"

#include <cmath>

#include <ATen/core/Tensor.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <exception>
#include <fstream>
#include <string>
#include <regex>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/io/durable_file.h"

namespace cloze {
namespace {

// Names the newest complete checkpoint; rewritten (durably) after each save.
constexpr const char* kLatest = "latest";

const std::regex& checkpoint_name() {
  static const std::regex pattern(R"(checkpoint-(\d+)\.pt)");
  return pattern;
}

// Checkpoints in `dir` ordered by step, oldest first.
std::vector<std::pair<int64_t, std::filesystem::path>> checkpoints_in(const std::filesystem::path& dir) {
  std::vector<std::pair<int64_t, std::filesystem::path>> found;
  for (const auto& file : std::filesystem::directory_iterator(dir)) {
    std::smatch match;
    const std::string name = file.path().filename().string();
    if (std::regex_match(name, match, checkpoint_name())) found.emplace_back(std::stoll(match[1]), file.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace

std::filesystem::path latest_checkpoint(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return {};
  std::ifstream pointer(dir / kLatest);
  std::string name;
  if (pointer >> name && std::regex_match(name, checkpoint_name()) && std::filesystem::is_regular_file(dir / name, ec))
    return dir / name;
  // Runs written before the pointer existed: every checkpoint-<step>.pt is
  // complete (it only ever appears by rename), so the newest is the one.
  const auto found = checkpoints_in(dir);
  return found.empty() ? std::filesystem::path() : found.back().second;
}

std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const torch::nn::Module& model,
                                      const torch::optim::Optimizer& optimizer, const CheckpointState& state,
                                      int64_t keep) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive model_archive;
  model.save(model_archive);
  archive.write("model", model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("step", at::scalar_tensor(state.step, at::kLong));
  archive.write("next_batch", at::scalar_tensor(state.next_batch, at::kLong));
  archive.write("skipped_nonfinite", at::scalar_tensor(state.skipped_nonfinite, at::kLong));
  archive.write("train_flops", at::scalar_tensor(state.train_flops, at::kDouble));

  const std::string name = "checkpoint-" + std::to_string(state.step) + ".pt";
  const std::filesystem::path path = dir / name;
  const std::string previous = latest_checkpoint(dir).filename().string();
  try {
    write_durably(path, [&](const ByteSink& sink) {
      // LibTorch's zip writer cannot unwind through a failing write (its
      // destructor writes again), so the first failure is kept and raised
      // once the archive is done with the file.
      std::exception_ptr failure;
      archive.save_to([&](const void* data, std::size_t size) -> std::size_t {
        if (failure) return size;
        try {
          sink(data, size);
        } catch (...) {
          failure = std::current_exception();
        }
        return size;
      });
      if (failure) std::rethrow_exception(failure);
    });
    // The pointer moves only once the checkpoint it names is complete.
    write_durably(dir / kLatest, name + "\n");
  } catch (const Error& e) {
    throw Error(std::string("cannot save checkpoint: ") + e.what() +
                (previous.empty() ? "" : "; the earlier checkpoint " + (dir / previous).string() + " is intact"));
  }

  // Only now that the new one is complete and named: drop the oldest beyond `keep`.
  auto existing = checkpoints_in(dir);
  const auto excess = static_cast<int64_t>(existing.size()) - std::max<int64_t>(keep, 1);
  std::error_code ignored;
  for (int64_t i = 0; i < excess; ++i)
    if (existing[static_cast<std::size_t>(i)].second != path)
      std::filesystem::remove(existing[static_cast<std::size_t>(i)].second, ignored);
  return path;
}

CheckpointState load_checkpoint(const std::filesystem::path& file, torch::nn::Module& model,
                                torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string());
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model.load(model_archive);
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    at::Tensor step, next_batch, skipped_nonfinite;
    archive.read("step", step);
    archive.read("next_batch", next_batch);
    archive.read("skipped_nonfinite", skipped_nonfinite);
    // Checkpoints from before the count was kept resume with an unknown cost: NaN, not a wrong 0.
    at::Tensor train_flops = at::scalar_tensor(std::nan(""), at::kDouble);
    archive.try_read("train_flops", train_flops);
    return {step.item<int64_t>(), next_batch.item<int64_t>(), skipped_nonfinite.item<int64_t>(),
            train_flops.item<double>()};
  } catch (const c10::Error& e) {
    throw Error("cannot read checkpoint " + file.string() + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Error("cannot read checkpoint " + file.string() + ": " + e.what());
  }
}

}  // namespace cloze
