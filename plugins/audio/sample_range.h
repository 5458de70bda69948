// A stretch of a recording's samples, counted at one rate.
#pragma once

#include <cstdint>

namespace cloze::audio {

struct SampleRange {
  int64_t begin = 0;
  int64_t end = 0;  // exclusive
  int64_t size() const { return end - begin; }
};

}  // namespace cloze::audio
