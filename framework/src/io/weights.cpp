#include "cloze/io/weights.h"

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>

#include <sstream>

#include "cloze/core/error.h"
#include "cloze/io/safetensors.h"

namespace cloze {
namespace {

TensorMap named_state(const torch::nn::Module& model) {
  TensorMap state;
  for (const auto& item : model.named_parameters()) state[item.key()] = item.value();
  for (const auto& item : model.named_buffers()) state[item.key()] = item.value();
  return state;
}

std::string shape_text(const at::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

}  // namespace

void export_weights(const torch::nn::Module& model, const std::filesystem::path& path, const std::string& config_toml) {
  TensorMap state = named_state(model);
  for (auto& item : state) item.second = item.second.detach();
  save_safetensors(path, state, {{"config", config_toml}});
}

void import_weights(torch::nn::Module& model, const std::filesystem::path& path) {
  const SafetensorsFile file = load_safetensors(path);
  at::NoGradGuard no_grad;
  for (auto& [name, tensor] : named_state(model)) {
    const auto found = file.tensors.find(name);
    if (found == file.tensors.end())
      throw Error(path.string() + ": no tensor '" + name + "'; were these weights trained with another model config?");
    if (found->second.sizes() != tensor.sizes())
      throw Error(path.string() + ": tensor '" + name + "' is " + shape_text(found->second) + ", the model's is " +
                  shape_text(tensor) + "; were these weights trained with another model config?");
    tensor.copy_(found->second);
  }
}

}  // namespace cloze
