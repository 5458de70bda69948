#include "cloze/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <algorithm>
#include <regex>
#include <vector>

#include "cloze/error.h"

namespace cloze {
namespace {

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
  archive.write("cpu_rng", at::detail::getDefaultCPUGenerator().get_state());

  const auto path = dir / ("checkpoint-" + std::to_string(state.step) + ".pt");
  const auto temporary = dir / ("checkpoint-" + std::to_string(state.step) + ".pt.tmp");
  try {
    archive.save_to(temporary.string());
  } catch (const std::exception& e) {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
    throw Error("cannot write checkpoint " + path.string() + ": " + e.what());
  }
  std::filesystem::rename(temporary, path);

  auto existing = checkpoints_in(dir);
  const auto excess = static_cast<int64_t>(existing.size()) - std::max<int64_t>(keep, 1);
  for (int64_t i = 0; i < excess; ++i) std::filesystem::remove(existing[static_cast<std::size_t>(i)].second);
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
    at::Tensor step, next_batch, rng;
    archive.read("step", step);
    archive.read("next_batch", next_batch);
    archive.read("cpu_rng", rng);
    auto generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
    return {step.item<int64_t>(), next_batch.item<int64_t>()};
  } catch (const c10::Error& e) {
    throw Error("cannot read checkpoint " + file.string() + ": " + e.what_without_backtrace());
  }
}

}  // namespace cloze
