// patch_mask: masked modelling on any grid of units: MAE, BEiT, SimMIM,
// Audio-MAE's time / frequency stripes.
//
// He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners" (CVPR):
//   pattern = "random", mode = "fill".
// Bao et al. 2022, "BEiT: BERT Pre-Training of Image Transformers" (ICLR):
//   pattern = "block" (blockwise masking, rank-2 grids).
// Xie et al. 2022, "SimMIM: A Simple Framework for Masked Image Modeling"
//   (CVPR): mode = "in_place" with mask_unit = k (hide k x k squares).
// Huang et al. 2022, "Masked Autoencoders that Listen" (NeurIPS), after
// Park et al. 2019, "SpecAugment" (Interspeech): pattern = "time",
//   "frequency" or "time_frequency" (whole columns / rows of a rank-2
//   [mels/p, frames/p] grid: axis 0 is frequency, axis 1 is time).
//
// It reads only the grid, the units' shape and the padding, so it works the
// same on image patches [H/p, W/p], spectrogram patches [mels/p, frames/p]
// and, in fill mode, token ids [T].
//
// The grid is cut into cells of mask_unit units along every axis (a cell is a
// unit when mask_unit = 1); a cell is padding when all its units are. Of a
// row's n non-padding cells exactly
//
//   keep = round(n * (1 - ratio))      (halves up)
//
// are kept and n - keep hidden, with random or block (mask_patterns.h), so
// rows of equal length hide equal counts. The stripe patterns apply the same
// rule to lines: of the c non-padding columns, c - round(c (1 - ratio)) are
// hidden ("time"; rows for "frequency"); "time_frequency" hides the union of
// such columns (time_ratio) and rows (frequency_ratio). Hiding a cell hides its
// non-padding units. Fill mode hands the kept units to the encoder
// (cloze::fill_corrupted); in-place mode zeroes the hidden ones and marks
// them for the model's learned mask embedding (cloze::masked_in_place).
#include <ATen/Functions.h>
#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corruption.h"
#include "cloze/core/error.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/corrupt/fill.h"
#include "cloze/corrupt/in_place.h"
#include "mask_patterns.h"

namespace {

using cloze::ParamType;

cloze::Schema schema() {
  return {
      cloze::ParamSpec{"ratio", ParamType::real, 0.75,
                       "random, block: share of the (non-padding) units hidden; time, frequency: share of the columns "
                       "or rows hidden"}
          .above(0)
          .below(1),
      cloze::ParamSpec{
          "pattern", ParamType::string, std::string("random"),
          "\"random\" (MAE: a uniformly random kept set), \"block\" (BEiT blockwise), \"time\" or \"frequency\" "
          "(whole grid columns or rows), \"time_frequency\" (Audio-MAE: union of both); all but random need a rank-2 "
          "grid [frequency, time]"}
          .one_of({"random", "block", "time", "frequency", "time_frequency"}),
      cloze::ParamSpec{
          "mode", ParamType::string, std::string("fill"),
          "\"fill\" (MAE: the encoder sees kept units only) or \"in_place\" (SimMIM: learned mask embedding)"}
          .one_of({"fill", "in_place"}),
      cloze::ParamSpec{
          "mask_unit", ParamType::integer, int64_t{1},
          "hide squares of mask_unit units along every grid axis (SimMIM's mask patch); must divide every axis"}
          .at_least(1),
      cloze::ParamSpec{"min_block", ParamType::integer, int64_t{16},
                       "block: fewest cells in one block (BEiT's min_num_patches)"}
          .at_least(1),
      cloze::ParamSpec{"aspect", ParamType::real, 0.3, "block: aspect ratios are log-uniform in [aspect, 1 / aspect]"}
          .above(0)
          .at_most(1),
      cloze::ParamSpec{"time_ratio", ParamType::real, 0.7,
                       "time_frequency: share of the time columns hidden (Audio-MAE's mask_t_prob)"}
          .at_least(0)
          .below(1),
      cloze::ParamSpec{"frequency_ratio", ParamType::real, 0.3,
                       "time_frequency: share of the frequency rows hidden (Audio-MAE's mask_f_prob)"}
          .at_least(0)
          .below(1),
  };
}

enum class Pattern { random, block, time, frequency, time_frequency };

// The pattern a name selects; false when it names none.
// The pattern a schema-checked name stands for.
Pattern pattern_named(const std::string& name) {
  static const std::map<std::string, Pattern> patterns{{"random", Pattern::random},
                                                       {"block", Pattern::block},
                                                       {"time", Pattern::time},
                                                       {"frequency", Pattern::frequency},
                                                       {"time_frequency", Pattern::time_frequency}};
  return patterns.at(name);
}

// The coarse grid of mask_unit-sized cells, and the cell of every unit.
struct Cells {
  std::vector<int64_t> dims;     // the grid's extents divided by mask_unit
  std::vector<int64_t> of_unit;  // [N] flat cell index of each unit; empty when are_units
  int64_t count = 0;
  bool are_units = false;  // mask_unit = 1: every unit is its own cell
};

Cells cells_of(const cloze::Grid& grid, int64_t mask_unit) {
  Cells cells;
  cells.count = 1;
  cells.are_units = mask_unit == 1;
  for (int64_t extent : grid.dims) {
    if (extent % mask_unit != 0)
      throw cloze::Error("patch_mask.mask_unit = " + std::to_string(mask_unit) +
                         " must divide every axis of the grid, but the batch's grid is " + grid.to_string());
    cells.dims.push_back(extent / mask_unit);
    cells.count *= extent / mask_unit;
  }
  if (cells.are_units) return cells;
  const cloze::Grid coarse{cells.dims};
  cells.of_unit.resize(static_cast<std::size_t>(grid.numel()));
  for (int64_t unit = 0; unit < grid.numel(); ++unit) {
    std::vector<int64_t> coords = grid.unravel(unit);
    for (int64_t& coord : coords) coord /= mask_unit;
    cells.of_unit[static_cast<std::size_t>(unit)] = coarse.ravel(coords);
  }
  return cells;
}

class PatchMask final : public cloze::Corruption {
 public:
  explicit PatchMask(const cloze::Params& params)
      : ratio_(params.real("ratio")),
        pattern_name_(params.string("pattern")),
        pattern_(pattern_named(pattern_name_)),
        fill_(params.string("mode") == "fill"),
        mask_unit_(params.integer("mask_unit")),
        shape_{params.integer("min_block"), params.real("aspect")},
        stripes_{params.real("frequency_ratio"), params.real("time_ratio")} {
    params.require(pattern_ != Pattern::time_frequency || stripes_.cols > 0.0 || stripes_.rows > 0.0, "time_ratio",
                   "must be above 0 when frequency_ratio is 0 and pattern = \"time_frequency\": nothing would be "
                   "hidden");
  }

  cloze::ReconstructionMode mode() const override {
    return fill_ ? cloze::ReconstructionMode::fill : cloze::ReconstructionMode::in_place;
  }

  std::string incompatibility(const cloze::UnitSpec& units) const override {
    if (!fill_ && units.kind != cloze::UnitKind::continuous)
      return "patch_mask.mode = in_place replaces hidden units with the model's learned mask embedding (SimMIM), "
             "which needs continuous units; for token ids use token_mask";
    return "";
  }

 private:
  cloze::Corrupted do_corrupt(const cloze::Batch& batch, uint64_t seed) const override {
    const at::Tensor hidden = hidden_units(batch, seed);  // [B, N]
    return fill_ ? cloze::fill_corrupted(batch, hidden) : cloze::masked_in_place(batch, hidden);
  }

  // [B, N] bool, true = hidden; never true on padding.
  at::Tensor hidden_units(const cloze::Batch& batch, uint64_t seed) const {
    const int64_t rows = batch.units.size(0);
    const int64_t length = batch.units.size(1);
    if (pattern_ != Pattern::random && batch.grid.rank() != 2)
      throw cloze::Error("patch_mask.pattern = " + pattern_name_ +
                         (pattern_ == Pattern::block ? " places rectangles" : " hides whole columns or rows") +
                         " on a rank-2 grid ([frequency, time] for audio), but the batch's grid is " +
                         batch.grid.to_string());
    const Cells cells = cells_of(batch.grid, mask_unit_);

    const at::Tensor padding = batch.padding.contiguous();  // [B, N]
    at::Tensor hidden = at::empty({rows, length}, at::kBool);  // [B, N]
    const bool* pad_data = padding.data_ptr<bool>();
    bool* hidden_data = hidden.data_ptr<bool>();

    std::vector<uint8_t> cell_padding, cell_hidden;
    std::vector<int64_t> scratch;
    for (int64_t row = 0; row < rows; ++row) {
      const bool* pad = pad_data + row * length;
      if (cells.are_units) {
        cell_padding.assign(pad, pad + length);
      } else {
        cell_padding.assign(static_cast<std::size_t>(cells.count), 1);
        for (int64_t unit = 0; unit < length; ++unit)
          if (!pad[unit]) cell_padding[static_cast<std::size_t>(cells.of_unit[static_cast<std::size_t>(unit)])] = 0;
      }
      int64_t real_cells = 0;
      for (uint8_t is_padding : cell_padding) real_cells += !is_padding;
      const int64_t keep = patch_mask::keep_count(real_cells, ratio_);

      cloze::SampleRng rng(seed, cloze::RngStream::corruption, batch.epoch, batch.sample_ids[row]);
      switch (pattern_) {
        case Pattern::random:
          patch_mask::random_mask(cell_padding, keep, rng, cell_hidden, scratch);
          break;
        case Pattern::block:
          patch_mask::block_mask(cells.dims[0], cells.dims[1], cell_padding, real_cells - keep, shape_, rng,
                                 cell_hidden);
          break;
        case Pattern::time:
          patch_mask::stripe_mask(cells.dims[0], cells.dims[1], cell_padding, {0.0, ratio_}, rng, cell_hidden);
          break;
        case Pattern::frequency:
          patch_mask::stripe_mask(cells.dims[0], cells.dims[1], cell_padding, {ratio_, 0.0}, rng, cell_hidden);
          break;
        case Pattern::time_frequency:
          patch_mask::stripe_mask(cells.dims[0], cells.dims[1], cell_padding, stripes_, rng, cell_hidden);
          break;
      }

      bool* out = hidden_data + row * length;
      if (cells.are_units)
        for (int64_t unit = 0; unit < length; ++unit) out[unit] = !pad[unit] & (cell_hidden[static_cast<std::size_t>(unit)] != 0);
      else
        for (int64_t unit = 0; unit < length; ++unit)
          out[unit] = !pad[unit] && cell_hidden[static_cast<std::size_t>(cells.of_unit[static_cast<std::size_t>(unit)])];
    }
    return hidden;
  }

  double ratio_;
  std::string pattern_name_;
  Pattern pattern_;
  bool fill_;   // mode: fill, else in_place
  int64_t mask_unit_;
  patch_mask::BlockShape shape_;
  patch_mask::LineRatios stripes_;  // time_frequency: rows = frequency_ratio, cols = time_ratio
};

}  // namespace

CLOZE_PLUGIN(registry) {
  registry.add_corruption<PatchMask>(
      "patch_mask",
      "masked modelling on any grid: MAE random masking, BEiT blockwise masking, Audio-MAE "
      "time / frequency stripes, SimMIM in-place masking",
      schema());
}
