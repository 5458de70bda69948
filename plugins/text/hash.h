// Stable hashes for cache keys and the train/eval split. Unlike std::hash their
// values are fixed by definition, so a cache written by one build is found by
// the next and a document stays in its split on every machine.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace cloze::text {

// FNV-1a, 64 bits.
inline uint64_t fnv1a(std::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// SplitMix64's finalizer: spreads consecutive integers over all 64 bits.
inline uint64_t mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// 16 hex digits naming whatever `identity` describes.
inline std::string cache_key(std::string_view identity) {
  char key[17];
  std::snprintf(key, sizeof key, "%016llx", static_cast<unsigned long long>(fnv1a(identity)));
  return key;
}

}  // namespace cloze::text
