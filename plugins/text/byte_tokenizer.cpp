// The byte-level tokenizer: every byte of UTF-8 text is one id, after the
// reserved ones; T5's sentinels follow the bytes. No training, no unknown
// input, exact round trip.
#include <string>

#include "tokenizer.h"

namespace cloze::text {

namespace {

const char* const reserved_names[reserved_count] = {"<pad>", "<unk>", "<s>", "</s>", "[MASK]"};
constexpr int32_t first_sentinel = reserved_count + byte_count;

UnitSpec byte_units(int64_t sentinels) {
  UnitSpec units;
  units.kind = UnitKind::discrete;
  units.vocab_size = first_sentinel + sentinels;
  units.pad_id = pad_id;
  units.mask_id = mask_id;
  units.bos_id = bos_id;
  units.eos_id = eos_id;
  for (int32_t id = 0; id < reserved_count; ++id) units.special_ids.push_back(id);
  for (int64_t n = 0; n < sentinels; ++n) units.sentinel_ids.push_back(first_sentinel + n);
  units.special_ids.insert(units.special_ids.end(), units.sentinel_ids.begin(), units.sentinel_ids.end());
  // begins_word stays empty: whether a byte starts a word depends on the byte
  // before it, not on its id.
  return units;
}

class ByteTokenizer final : public Tokenizer {
 public:
  explicit ByteTokenizer(int64_t sentinels) : units_(byte_units(sentinels)) {}

  void encode(std::string_view text, std::vector<int32_t>& ids) const override {
    ids.reserve(ids.size() + text.size());
    for (unsigned char c : text) ids.push_back(reserved_count + c);
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string text;
    for (int32_t id : ids) {
      if (id >= 0 && id < reserved_count)
        text += reserved_names[id];
      else if (id >= reserved_count && id < first_sentinel)
        text += static_cast<char>(id - reserved_count);
      else if (id >= first_sentinel && id < units_.vocab_size)
        text += sentinel_piece(id - first_sentinel);
      else
        text += "<id " + std::to_string(id) + ">";
    }
    return text;
  }

  const UnitSpec& units() const override { return units_; }
  int32_t end_of_document() const override { return eos_id; }
  // Text never encodes to a sentinel, but the count is still part of the
  // identity so that each count has its own cache entry, as with sentencepiece.
  std::string identity() const override {
    return "byte tokenizer v1, sentinels " + std::to_string(units_.sentinel_ids.size());
  }

 private:
  UnitSpec units_;
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer(int64_t sentinels) {
  return std::make_unique<ByteTokenizer>(sentinels);
}

}  // namespace cloze::text
