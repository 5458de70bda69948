// UTF-8 checks: the corpus reader skips documents that are not valid UTF-8,
// and previews escape the bytes that do not form characters.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cloze::text {

// Length of the well-formed UTF-8 character starting at `text[pos]` (1-4), or
// 0 if the bytes there are not one (overlong forms and surrogates included).
std::size_t utf8_char_length(std::string_view text, std::size_t pos);

// Offset of the first byte of `text` that does not start a well-formed
// character, or std::string_view::npos when all of `text` is UTF-8.
std::size_t first_invalid_utf8(std::string_view text);

// `text` on one printable line: line breaks and tabs as \n, \r, \t, other
// control bytes and bytes that are not UTF-8 as \xHH.
std::string printable(std::string_view text);

}  // namespace cloze::text
