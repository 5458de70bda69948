// A model's weights as a safetensors file: every parameter and buffer under
// its module path ("blocks.0.attn.qkv.weight"), the resolved config in the
// metadata. What `cloze train` exports and `cloze preview` reads back.
#pragma once

#include <filesystem>
#include <string>

#include <torch/nn/module.h>

namespace cloze {

void export_weights(const torch::nn::Module& model, const std::filesystem::path& path, const std::string& config_toml);

// Copies the file's tensors into the model's parameters and buffers; throws
// cloze::Error naming the file and the tensor when one is missing or its shape
// differs (a file from another config).
void import_weights(torch::nn::Module& model, const std::filesystem::path& path);

}  // namespace cloze
