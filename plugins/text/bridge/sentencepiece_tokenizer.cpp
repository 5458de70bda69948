// The sentencepiece tokenizer (in the bridge library, see
// ../sentencepiece_bridge.h): loads a model file and reads its special ids, so
// a model trained here and one trained elsewhere (T5's, say) both work.
#include <sentencepiece_processor.h>

#include <fstream>
#include <sstream>

#include "cloze/core/error.h"
#include "hash.h"
#include "sentencepiece_bridge.h"

namespace cloze::text {

namespace {

const std::string word_start = "\xE2\x96\x81";  // U+2581 '▁', sentencepiece's word-start mark

std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("text: cannot read sentencepiece model " + path.string());
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// A piece as text: '▁' as a space; byte-fallback pieces ("<0xE2>") as their byte.
std::string piece_text(const sentencepiece::SentencePieceProcessor& processor, int id) {
  const std::string& piece = processor.IdToPiece(id);
  if (processor.IsByte(id)) return std::string(1, static_cast<char>(std::stoi(piece.substr(3, 2), nullptr, 16)));
  if (processor.IsControl(id) || processor.IsUnknown(id)) return piece;
  std::string text;
  for (std::size_t pos = 0; pos < piece.size();) {
    if (piece.compare(pos, word_start.size(), word_start) == 0) {
      text += ' ';
      pos += word_start.size();
    } else {
      text += piece[pos++];
    }
  }
  return text;
}

class SentencepieceTokenizer final : public Tokenizer {
 public:
  explicit SentencepieceTokenizer(const std::filesystem::path& model) {
    const std::string bytes = read_bytes(model);
    const auto status = processor_.LoadFromSerializedProto(bytes);
    if (!status.ok()) throw Error("text: cannot load sentencepiece model " + model.string() + ": " + status.ToString());
    if (processor_.pad_id() < 0 || processor_.eos_id() < 0)
      throw Error("text: sentencepiece model " + model.string() +
                  " has no pad or no eos piece; cloze ends documents with eos and pads chunks with pad");
    identity_ = "sentencepiece model " + cache_key(bytes);
    units_ = read_units();
  }

  void encode(std::string_view text, std::vector<int32_t>& ids) const override {
    std::vector<int> pieces;
    const auto status = processor_.Encode(text, &pieces);
    if (!status.ok()) throw Error("text: sentencepiece cannot encode: " + status.ToString());
    ids.insert(ids.end(), pieces.begin(), pieces.end());
  }

  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string text;
    for (int32_t id : ids)
      text += id >= 0 && id < units_.vocab_size ? piece_text(processor_, id) : "<id " + std::to_string(id) + ">";
    return text;
  }

  const UnitSpec& units() const override { return units_; }
  int32_t end_of_document() const override { return processor_.eos_id(); }
  std::string identity() const override { return identity_; }

 private:
  UnitSpec read_units() const {
    UnitSpec units;
    units.kind = UnitKind::discrete;
    units.vocab_size = processor_.GetPieceSize();
    units.pad_id = processor_.pad_id();
    units.bos_id = processor_.bos_id();  // -1 when the model has none
    units.eos_id = processor_.eos_id();
    units.mask_id = piece_id("[MASK]");
    // Contiguous from <extra_id_0>: the first one missing ends the list.
    for (int64_t n = 0;; ++n) {
      const int64_t id = piece_id(sentinel_piece(n));
      if (id < 0) break;
      units.sentinel_ids.push_back(id);
    }
    std::vector<uint8_t> user_special(static_cast<std::size_t>(units.vocab_size), 0);
    if (units.mask_id >= 0) user_special[static_cast<std::size_t>(units.mask_id)] = 1;
    for (int64_t id : units.sentinel_ids) user_special[static_cast<std::size_t>(id)] = 1;
    units.begins_word.assign(static_cast<std::size_t>(units.vocab_size), 0);
    for (int id = 0; id < units.vocab_size; ++id) {
      if (processor_.IsControl(id) || processor_.IsUnknown(id) || user_special[static_cast<std::size_t>(id)])
        units.special_ids.push_back(id);
      else if (processor_.IdToPiece(id).rfind(word_start, 0) == 0)
        units.begins_word[static_cast<std::size_t>(id)] = 1;
    }
    return units;
  }

  // The id of `piece`, or -1 if the model lacks it (PieceToId answers unk then).
  int64_t piece_id(const std::string& piece) const {
    const int id = processor_.PieceToId(piece);
    return id == processor_.unk_id() ? -1 : id;
  }

  sentencepiece::SentencePieceProcessor processor_;
  std::string identity_;
  UnitSpec units_;
};

}  // namespace

}  // namespace cloze::text

cloze::text::Tokenizer* cloze_text_load_sentencepiece(const char* model) {
  return new cloze::text::SentencepieceTokenizer(model);
}
