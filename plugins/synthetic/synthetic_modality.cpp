// The synthetic modality: random samples of a configured shape, made on demand
// from nothing, for throughput benchmarks and smoke tests (fairseq's
// dummy_masked_lm and dummy_lm tasks). Token rows are ids drawn uniformly from
// the ordinary ids of a vocabulary laid out like the text modality's; patch
// rows are standard-normal float32 vectors on a 2-D grid, as a ViT's patches.
// Sample i of a split is a pure function of (run seed, split, i), so batches
// are the same with any number of loader threads and nothing is held in memory.
#include <ATen/Functions.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cloze/core/error.h"
#include "cloze/core/modality.h"
#include "cloze/core/params.h"
#include "cloze/core/plugin.h"
#include "cloze/core/rng.h"
#include "cloze/core/units.h"
#include "cloze/inspect/patch_preview.h"

namespace cloze::synthetic {

namespace {

// The text modality's reserved ids (plugins/text/tokenizer.h), then its
// sentinels, so that every text corruption finds each special id where it
// does on text: [MASK] for token_mask, sentinels for span_infill, bos for a
// decoder's first input.
enum ReservedId : int64_t { pad_id = 0, unk_id = 1, bos_id = 2, eos_id = 3, mask_id = 4, reserved_count = 5 };
const char* const reserved_names[reserved_count] = {"<pad>", "<unk>", "<s>", "</s>", "[MASK]"};

constexpr int64_t preview_ids = 16;  // ids a preview shows of the input and of the targets, at most

// Keys our samples apart from the loader's shuffles, which draw from
// (run seed, data_order, epoch); rng.h has no stream of its own for made-up data.
constexpr uint64_t sample_seed_part = 0x73796e746865ULL;  // "synthe"

Schema schema() {
  return {
      ParamSpec{"units", ParamType::string, std::string("tokens"),
                "\"tokens\" (discrete ids on a [seq_len] grid) or \"patches\" (float vectors on a 2-D grid)"}
          .one_of({"tokens", "patches"}),
      ParamSpec{"vocab_size", ParamType::integer, int64_t{30522},
                "tokens: ids in the vocabulary, the 5 reserved ones and the sentinels included (BERT's 30522)"}
          .above(reserved_count),
      ParamSpec{
          "sentinels", ParamType::integer, int64_t{100},
          "tokens: T5 sentinel ids (`<extra_id_0>`, ...) reserved after the 5 reserved ids, as the text modality does"}
          .at_least(0),
      ParamSpec{"seq_len", ParamType::integer, int64_t{128},
                "tokens: ids per encoder input; samples hold the corruption's raw length for it, never padded"}
          .at_least(1),
      ParamSpec{"grid_rows", ParamType::integer, int64_t{14}, "patches: rows of the grid (ViT-B/16 at 224 px: 14)"}
          .at_least(1),
      ParamSpec{"grid_columns", ParamType::integer, int64_t{14}, "patches: columns of the grid"}.at_least(1),
      ParamSpec{"unit_dim", ParamType::integer, int64_t{768}, "patches: values per unit (16 * 16 * 3 for ViT-B/16)"}
          .at_least(1),
      ParamSpec{"train_samples", ParamType::integer, int64_t{100000}, "samples in the train split"}.at_least(1),
      ParamSpec{"eval_samples", ParamType::integer, int64_t{1000}, "samples in the eval split"}.at_least(1),
  };
}

void validate(const Params& params) {
  const int64_t vocab_size = params.integer("vocab_size");
  params.require(params.integer("sentinels") < vocab_size - reserved_count,
                 "sentinels",
                 "must be in [0, vocab_size - 6] = [0, " + std::to_string(vocab_size - reserved_count - 1) +
                     "]: at least one ordinary id must remain");
}

// Ids 0-4 reserved, then the sentinels, then the ordinary ids. Every id has a
// piece: special ones their name, ordinary ones their number (previews, and
// corruptions that look ids up by their text).
UnitSpec token_units(int64_t vocab_size, int64_t sentinels) {
  UnitSpec units;
  units.kind = UnitKind::discrete;
  units.vocab_size = vocab_size;
  units.pad_id = pad_id;
  units.mask_id = mask_id;
  units.bos_id = bos_id;
  units.eos_id = eos_id;
  for (int64_t id = 0; id < reserved_count + sentinels; ++id) units.special_ids.push_back(id);
  for (int64_t n = 0; n < sentinels; ++n) units.sentinel_ids.push_back(reserved_count + n);
  units.pieces.reserve(static_cast<std::size_t>(vocab_size));
  for (int64_t id = 0; id < vocab_size; ++id)
    units.pieces.push_back(id < reserved_count              ? reserved_names[id]
                           : id < reserved_count + sentinels ? "<extra_id_" + std::to_string(id - reserved_count) + ">"
                                                             : std::to_string(id));
  return units;
}

// Vectors of unit_dim standard-normal values, as a ViT's normalised patches.
// value_range stays 0 (unknown, so no PSNR): a normal has no maximum.
UnitSpec patch_units(int64_t unit_dim) {
  UnitSpec units;
  units.kind = UnitKind::continuous;
  units.unit_dim = unit_dim;
  return units;
}

// What a split makes: ids in [first_ordinary, vocab_size) or unit_dim values
// per unit, on `grid`.
struct Shape {
  UnitKind kind = UnitKind::discrete;
  Grid grid;
  int64_t first_ordinary = 0, vocab_size = 0;  // tokens
  int64_t unit_dim = 0;                        // patches
};

// [B, N] int64 ids, uniform over [first, vocab): row b from rows[b].
at::Tensor random_ids(std::vector<SampleRng> rows, int64_t length, int64_t first, int64_t vocab) {
  at::Tensor ids = at::empty({static_cast<int64_t>(rows.size()), length}, at::kLong);
  int64_t* out = ids.data_ptr<int64_t>();
  const auto ordinary = static_cast<uint64_t>(vocab - first);
  for (SampleRng& rng : rows)
    for (int64_t n = 0; n < length; ++n) *out++ = first + static_cast<int64_t>(rng.below(ordinary));
  return ids;
}

// [B, N, D] float32 standard-normal values, row b from rows[b]: Box-Muller on
// pairs of its uniforms. ATen takes the logarithms and cosines, vectorised, one
// row at a time so that every pass stays in cache: at the ViT-MAE shape (19M
// values a batch) 2.6x faster than passes over the whole batch.
at::Tensor random_values(std::vector<SampleRng> rows, int64_t units, int64_t unit_dim) {
  const auto batch = static_cast<int64_t>(rows.size());
  const int64_t count = units * unit_dim, pairs = (count + 1) / 2;
  at::Tensor values = at::empty({batch, 2 * pairs}, at::kFloat);  // [B, 2P]
  at::Tensor uniform = at::empty({2, pairs}, at::kFloat);         // [2, P] in [0, 1), one row's
  for (int64_t b = 0; b < batch; ++b) {
    float* out = uniform.data_ptr<float>();
    for (int64_t i = 0; i < 2 * pairs; ++i) out[i] = rows[static_cast<std::size_t>(b)].uniform_f();
    const at::Tensor radius = uniform[0].neg().log1p_().mul_(-2).sqrt_();  // sqrt(-2 log(1 - u)): finite
    const at::Tensor angle = uniform[1].mul(2 * M_PI);
    at::Tensor cosines = values[b].narrow(0, 0, pairs), sines = values[b].narrow(0, pairs, pairs);
    at::mul_out(cosines, radius, angle.cos());
    at::mul_out(sines, radius, angle.sin());
  }
  return values.narrow(1, 0, count).reshape({batch, units, unit_dim}).contiguous();
}

class SyntheticDataset final : public Dataset {
 public:
  SyntheticDataset(Shape shape, uint64_t seed, Split split, int64_t size)
      : shape_(std::move(shape)), seed_(seed), split_(split), size_(size) {}

  int64_t size() const override { return size_; }

  // Thread-safe: reads members only; each row's values come from a SampleRng
  // keyed by (seed, split, index) alone.
  Batch collate(const std::vector<int64_t>& indices) const override {
    std::vector<SampleRng> rows;
    rows.reserve(indices.size());
    for (const int64_t index : indices) {
      if (index < 0 || index >= size_)
        throw Error("synthetic: sample " + std::to_string(index) + " is outside the " + to_string(split_) +
                    " split's " + std::to_string(size_) + " samples");
      rows.emplace_back(seed_, RngStream::data_order, static_cast<int64_t>(split_), index);
    }
    const auto batch_size = static_cast<int64_t>(indices.size());
    const int64_t length = shape_.grid.numel();
    Batch batch;
    batch.units = shape_.kind == UnitKind::discrete
                      ? random_ids(std::move(rows), length, shape_.first_ordinary, shape_.vocab_size)
                      : random_values(std::move(rows), length, shape_.unit_dim);
    batch.padding = at::zeros({batch_size, length}, at::kBool);  // every sample fills its grid
    batch.labels = at::full({batch_size}, -1, at::kLong);        // unlabelled
    batch.grid = shape_.grid;
    batch.sample_ids = indices;
    return batch;
  }

 private:
  Shape shape_;
  uint64_t seed_;
  Split split_;
  int64_t size_;
};

class SyntheticModality final : public Modality {
 public:
  SyntheticModality(const Params& params, const ModalityContext& context) {
    validate(params);
    if (params.string("units") == "tokens") {
      // The corruption's raw length for seq_len, as the text modality packs
      // chunks: span_infill's inputs then come out at exactly seq_len.
      const int64_t length = context.raw_length(params.integer("seq_len"));
      params.require(length >= 1, "seq_len",
                     "gives samples of " + std::to_string(length) +
                         " ids under this corruption (its raw_length); a sample needs at least 1");
      const int64_t sentinels = params.integer("sentinels");
      units_ = token_units(params.integer("vocab_size"), sentinels);
      shape_ = {UnitKind::discrete, Grid{{length}}, reserved_count + sentinels, units_.vocab_size, 0};
    } else {
      units_ = patch_units(params.integer("unit_dim"));
      shape_ = {UnitKind::continuous, Grid{{params.integer("grid_rows"), params.integer("grid_columns")}}, 0, 0,
                units_.unit_dim};
    }
    const uint64_t seed = derived_seed(context.seed, sample_seed_part);
    train_ = std::make_shared<SyntheticDataset>(shape_, seed, Split::train, params.integer("train_samples"));
    eval_ = std::make_shared<SyntheticDataset>(shape_, seed, Split::eval, params.integer("eval_samples"));
  }

  UnitSpec units() const override { return units_; }
  Grid grid() const override { return shape_.grid; }
  std::shared_ptr<Dataset> dataset(Split split) const override { return split == Split::train ? train_ : eval_; }

  // Patches: the framework's map of hidden patches. Tokens: the encoder's input,
  // then the scored targets, each cut after preview_ids pieces:
  //   input 9731 [MASK] 20417 ... (128 ids) ⇒ scored 3021 118 ... (19 ids)
  std::string preview(const Batch& batch, const Corrupted& corrupted, int64_t row) const override {
    if (units_.kind == UnitKind::continuous) return patch_preview({}, batch, corrupted, row);
    const at::Tensor seen =
        corrupted.input_padding.defined() ? corrupted.input_padding.logical_not() : at::Tensor();
    return "input " + pieces_of(corrupted.input, seen, row) + " ⇒ scored " +
           pieces_of(corrupted.target, corrupted.loss_mask, row);
  }

 private:
  // Row `row` of `ids` [B, N] where `keep` [B, N] is true (all of it when
  // undefined), as at most preview_ids pieces and the count; ids a mixture
  // added after the vocabulary by their number.
  std::string pieces_of(const at::Tensor& ids, const at::Tensor& keep, int64_t row) const {
    at::Tensor values = ids[row];
    if (keep.defined()) values = values.masked_select(keep[row].to(at::kBool));
    values = values.to(at::kCPU, at::kLong).contiguous();
    const int64_t* data = values.data_ptr<int64_t>();
    std::string text;
    for (int64_t i = 0; i < std::min(values.numel(), preview_ids); ++i)
      text += (data[i] >= 0 && data[i] < units_.vocab_size ? units_.pieces[static_cast<std::size_t>(data[i])]
                                                            : std::to_string(data[i])) +
              " ";
    return text + (values.numel() > preview_ids ? "... " : "") + "(" + std::to_string(values.numel()) + " ids)";
  }

  UnitSpec units_;
  Shape shape_;
  std::shared_ptr<Dataset> train_;
  std::shared_ptr<Dataset> eval_;
};

}  // namespace

}  // namespace cloze::synthetic

CLOZE_PLUGIN(registry) {
  registry.add_modality<cloze::synthetic::SyntheticModality>(
      "synthetic",
      "random token ids or standard-normal patches of a configured shape, made on demand (benchmarks, smoke tests)",
      cloze::synthetic::schema());
}
