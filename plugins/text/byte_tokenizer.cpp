// The byte-level tokenizer: every byte of UTF-8 text is one id, after the
// reserved ones. No training, no unknown input, exact round trip.
#include <string>

#include "tokenizer.h"

namespace cloze::text {

namespace {

constexpr int32_t byte_count = 256;
const char* const reserved_names[reserved_count] = {"<pad>", "<unk>", "<s>", "</s>", "[MASK]"};

UnitSpec byte_units() {
  UnitSpec units;
  units.kind = UnitKind::discrete;
  units.vocab_size = reserved_count + byte_count;
  units.pad_id = pad_id;
  units.mask_id = mask_id;
  for (int32_t id = 0; id < reserved_count; ++id) units.special_ids.push_back(id);
  // begins_word stays empty: whether a byte starts a word depends on the byte
  // before it, not on its id.
  return units;
}

class ByteTokenizer final : public Tokenizer {
 public:
  void encode(std::string_view text, std::vector<int32_t>& ids) const override {
    ids.reserve(ids.size() + text.size());
    for (unsigned char c : text) ids.push_back(reserved_count + c);
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string text;
    for (int32_t id : ids) {
      if (id >= reserved_count && id < units_.vocab_size)
        text += static_cast<char>(id - reserved_count);
      else if (id >= 0 && id < reserved_count)
        text += reserved_names[id];
      else
        text += "<id " + std::to_string(id) + ">";
    }
    return text;
  }

  const UnitSpec& units() const override { return units_; }
  int32_t end_of_document() const override { return eos_id; }
  std::string identity() const override { return "byte tokenizer v1"; }

 private:
  UnitSpec units_ = byte_units();
};

}  // namespace

std::unique_ptr<Tokenizer> make_byte_tokenizer() { return std::make_unique<ByteTokenizer>(); }

}  // namespace cloze::text
