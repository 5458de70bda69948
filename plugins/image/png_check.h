// Whether a PNG file is whole, checked before OpenCV decodes it.
//
// OpenCV's PNG decoder leaves libpng's default error handler in place, which
// prints "libpng error: ..." to stderr (beside cloze's own message, and with
// no file name) when a file is truncated or a chunk is damaged; no OpenCV
// setting silences it. Walking the chunks first finds those files, so they are
// reported as bad samples with the reason and never reach libpng.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cloze::image {

// "" when `bytes` do not start with PNG's signature (not this check's
// business: OpenCV picks a decoder by content) or when every chunk from IHDR
// to IEND is complete, has a valid type and matches its CRC (PNG spec,
// section 5); otherwise why not, e.g. "damaged PNG: truncated: it ends inside
// its IDAT chunk at byte 1234". The compressed data inside the chunks is left
// to libpng.
std::string png_damage(const uint8_t* bytes, std::size_t size);

}  // namespace cloze::image
