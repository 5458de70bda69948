// A tensor's shape as error messages print it: "[2, 16, 48]", or "undefined".
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace cloze {

std::string shape_of(const at::Tensor& tensor);

}  // namespace cloze
