#include "cloze/core/shape_text.h"

#include <sstream>

namespace cloze {

std::string shape_of(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

}  // namespace cloze
