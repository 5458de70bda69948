#include "png_check.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace cloze::image {

namespace {

uint32_t big_endian(const uint8_t* at) {
  return uint32_t{at[0]} << 24 | uint32_t{at[1]} << 16 | uint32_t{at[2]} << 8 | uint32_t{at[3]};
}

bool is_letter(uint8_t c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

}  // namespace

std::string png_damage(const uint8_t* bytes, std::size_t size) {
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size < sizeof signature || std::memcmp(bytes, signature, sizeof signature) != 0) return "";
  const auto damaged = [](const std::string& why) { return "damaged PNG: " + why; };

  // Each chunk: 4-byte length, 4-byte type, the data, a CRC of type and data.
  std::size_t at = sizeof signature;
  for (bool first = true;; first = false) {
    const std::string where = " at byte " + std::to_string(at);
    if (size - at < 8) return damaged("truncated: it ends at byte " + std::to_string(size) + ", before its IEND chunk");
    const uint32_t length = big_endian(bytes + at);
    const uint8_t* type = bytes + at + 4;
    if (!std::all_of(type, type + 4, is_letter)) return damaged("the chunk" + where + " has an invalid type");
    const std::string name(reinterpret_cast<const char*>(type), 4);
    if (first && name != "IHDR") return damaged("its first chunk is " + name + ", not IHDR");
    if (length > 0x7fffffffu) return damaged("its " + name + " chunk" + where + " is longer than PNG allows");
    if (size - at - 8 < std::size_t{length} + 4)
      return damaged("truncated: it ends inside its " + name + " chunk" + where);
    const uLong crc = crc32(crc32(0L, Z_NULL, 0), type, static_cast<uInt>(length) + 4);
    if (crc != big_endian(type + 4 + length)) return damaged("its " + name + " chunk" + where + " fails its CRC");
    if (name == "IEND") return "";
    at += std::size_t{length} + 12;
  }
}

}  // namespace cloze::image
