// Tokenizers of the text plugin: text to ids and back, with the special ids
// a denoising model needs. Both tokenizers this plugin builds reserve the same
// first ids (see ReservedId) and T5's sentinel pieces; a sentencepiece model
// loaded from a file keeps its own layout and is read for it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cloze/core/units.h"

namespace cloze::text {

enum ReservedId : int32_t { pad_id = 0, unk_id = 1, bos_id = 2, eos_id = 3, mask_id = 4, reserved_count = 5 };

constexpr int32_t byte_count = 256;  // the byte tokenizer's ids after the reserved ones

// The piece of sentinel `n` for T5 span infilling, as T5 names it: "<extra_id_3>".
inline std::string sentinel_piece(int64_t n) { return "<extra_id_" + std::to_string(n) + ">"; }

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Appends the ids of `text` to `ids` (no bos or eos). Called concurrently
  // (the token cache encodes a block of documents in parallel).
  virtual void encode(std::string_view text, std::vector<int32_t>& ids) const = 0;
  // The text of `ids`, for reading: special ids appear by name ("</s>",
  // "[MASK]"), sentencepiece's word-start mark '▁' as a space. For ids that
  // encode() made, decode() gives the text back (up to sentencepiece's
  // normalization and a leading space).
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;

  // vocab_size, pad_id, mask_id, bos_id, eos_id, sentinel_ids, special_ids, begins_word.
  virtual const UnitSpec& units() const = 0;
  // Ends every document in the packed stream.
  virtual int32_t end_of_document() const = 0;
  // What fixes the ids this tokenizer gives; part of the token cache's key.
  virtual std::string identity() const = 0;
};

// Ids 0-4 reserved, then the 256 byte values, then `sentinels` sentinel ids:
// vocab 261 + sentinels, exact round trip.
std::unique_ptr<Tokenizer> make_byte_tokenizer(int64_t sentinels);

// A sentencepiece model file (trained here or anywhere else); throws
// cloze::Error naming the file if it cannot be loaded or has no pad or eos.
// Its sentinels are its pieces <extra_id_0>, <extra_id_1>, ... up to the first
// one it lacks.
std::unique_ptr<Tokenizer> load_sentencepiece(const std::filesystem::path& model);

}  // namespace cloze::text
