// What a unit is for one modality: a token id from a vocabulary (discrete) or a
// vector of D values (continuous). Corruptions read this to refuse pairings that
// cannot work and to know which ids they may never touch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cloze {

enum class UnitKind { discrete, continuous };

std::string to_string(UnitKind kind);

struct UnitSpec {
  UnitKind kind = UnitKind::discrete;

  // discrete units
  int64_t vocab_size = 0;
  int64_t pad_id = -1;                 // filler after the end of a sample
  int64_t mask_id = -1;                // [MASK]; -1 when the vocabulary has none
  int64_t bos_id = -1;                 // start of a sequence: the decoder's first input
  int64_t eos_id = -1;                 // end of a document or a target sequence
  std::vector<int64_t> sentinel_ids;   // T5's <extra_id_0>, <extra_id_1>, ... in order;
                                       // empty when the tokenizer reserves none
  std::vector<int64_t> special_ids;    // never corrupted, never drawn as a random
                                       // replacement (pad, mask, bos, eos, ...)
  std::vector<uint8_t> begins_word;    // [vocab] 1 where the piece starts a word
                                       // (sentencepiece's leading '▁'); empty if unknown
  std::vector<std::string> pieces;     // [vocab] the text of each id, a word start as a
                                       // leading space; empty if unknown (sentence_permute
                                       // finds the ids of "." and "?" by it)

  // continuous units
  int64_t unit_dim = 0;                // values per unit (p*p*C for patches)
  bool normalize_targets = false;      // the loss compares against each unit normalised to
                                       // zero mean and unit variance (MAE's norm_pix_loss)
  double value_range = 0;              // max - min a value can take after the modality's
                                       // normalisation: the peak of PSNR; 0 = unknown

  bool is_special(int64_t id) const;
  // Ids a corruption may draw as a random replacement: [0, vocab) less specials.
  std::vector<int64_t> ordinary_ids() const;
  // The id whose piece is exactly `piece`, or -1 when none is (or pieces are unknown).
  int64_t id_of(const std::string& piece) const;

  // Makes each of `tokens` a special id whose piece is that text: the id that
  // already has the piece, or a new one after the vocabulary. Discrete units.
  void add_special_tokens(const std::vector<std::string>& tokens);

  // The peak signal-to-noise ratio of a reconstruction with mean squared
  // error `mse`, 10 log10(value_range^2 / mse) dB: for continuous units whose
  // range is known and whose targets are the values themselves (normalised
  // targets have no fixed peak); nullopt otherwise, or for mse <= 0.
  std::optional<double> psnr_db(double mse) const;
};

}  // namespace cloze
