// The one exception type of cloze. Every message names what is wrong and where
// (a file, a file:line, a config key, a plugin library), so a user can fix it
// without reading the code.
#pragma once

#include <stdexcept>
#include <string>

namespace cloze {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cloze
