#include "cloze/inspect/preview.h"

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>

#include <sstream>

#include "cloze/corrupt/batch_rows.h"
#include "cloze/data/patches.h"

namespace cloze {
namespace {

// The same batch with the model's output as the target, so the modality's
// marked view shows what the model reconstructs instead of the truth. In place
// and in fill mode, the most likely id or the predicted values at every scored
// unit (brought back from MAE's per-unit normalisation to the unit's own scale);
// in sequence mode, the greedy decoding, scored up to its padding.
Corrupted with_model_output(const Corrupted& corrupted, DenoisingModel& model, const UnitSpec& units) {
  Corrupted guessed = corrupted;
  if (corrupted.mode == ReconstructionMode::sequence) {
    guessed.target = model->generate(corrupted, corrupted.target.size(1));  // [B, L]
    guessed.loss_mask = guessed.target.ne(units.pad_id);
    return guessed;
  }
  const at::Tensor predictions = model->forward(corrupted);  // [M, V], [M, D] or [M, 1]
  guessed.target = corrupted.target.clone();
  if (corrupted.mode == ReconstructionMode::detect) {  // the units it calls replaced
    guessed.target.masked_scatter_(corrupted.loss_mask, predictions.squeeze(1).gt(0).to(at::kLong));
    return guessed;
  }
  if (units.kind == UnitKind::discrete) {
    guessed.target.masked_scatter_(corrupted.loss_mask, predictions.argmax(1));
    return guessed;
  }
  const at::Tensor scored = corrupted.loss_mask.unsqueeze(-1).expand_as(corrupted.target);  // [B, N, D]
  at::Tensor values = predictions.to(corrupted.target.scalar_type());
  if (units.normalize_targets)
    values = denormalize_units(values, corrupted.target.masked_select(scored).view_as(values));
  guessed.target.masked_scatter_(scored, values);
  return guessed;
}

// One row as the modality can show it. Detection is shown as an in-place
// corruption of the units replaced (truth) or called replaced (the model's
// view). A mixture's mode tokens (cloze/mixture.h) are ids the modality's own
// vocabulary does not have: a row whose input starts with one is shown alone
// without it, the token named instead, and a mode token the model wrote into
// its output reads as the output's end.
struct RowView {
  Batch batch;
  Corrupted corrupted;
  int64_t row = 0;
  std::string mode_token;
};

RowView modality_view(const Batch& batch, const Corrupted& corrupted, int64_t row, const UnitSpec& units,
                      int64_t modality_vocab) {
  if (corrupted.mode == ReconstructionMode::detect) {
    // Modalities show corruptions in place: the units called replaced, each
    // with its original.
    Corrupted marked = corrupted;
    marked.mode = ReconstructionMode::in_place;
    marked.target = batch.units;
    marked.loss_mask = corrupted.target.to(at::kBool) & corrupted.loss_mask;
    return {batch, marked, row, ""};
  }
  if (corrupted.mode != ReconstructionMode::sequence || units.vocab_size <= modality_vocab)
    return {batch, corrupted, row, ""};
  RowView view{select_rows(batch, {row}), select_rows(corrupted, {row}), 0, ""};
  Corrupted& alone = view.corrupted;
  alone.target = alone.target.masked_fill(alone.target.ge(modality_vocab), units.pad_id);
  const int64_t first = alone.input[0][0].item<int64_t>();
  if (first < modality_vocab) return view;
  view.mode_token = units.pieces.at(static_cast<std::size_t>(first));
  const int64_t length = alone.input.size(1) - 1;
  alone.input = alone.input.narrow(1, 1, length);
  alone.input_positions = alone.input_positions.narrow(1, 1, length) - 1;
  alone.input_padding = alone.input_padding.narrow(1, 1, length);
  return view;
}

}  // namespace

std::string preview_samples(const Pipeline& pipeline, int64_t samples, DenoisingModel* model,
                            const std::filesystem::path& picture_dir) {
  auto loader = pipeline.loader(Split::train, samples);
  const LoadedBatch item = loader->next();
  const Modality& modality = pipeline.modality();

  at::NoGradGuard no_grad;
  std::ostringstream out;
  // A latent target (data2vec) is the teacher's features, not the units: the
  // model reconstructs nothing the modality could show.
  if (model != nullptr && (*model)->options().latent_target()) {
    out << "the model predicts its teacher's features (model.target = \"latent\"), not the units: "
           "only the corruption is shown\n\n";
    model = nullptr;
  }
  Corrupted guessed;
  if (model) {
    (*model)->eval();
    guessed = with_model_output(item.corrupted, *model, pipeline.units());
  }
  // Made here, and removed again if the modality drew nothing (text).
  const bool made_picture_dir = !picture_dir.empty() && std::filesystem::create_directories(picture_dir);
  const std::vector<std::string> entry_labels = pipeline.corruption()->entry_labels();
  const int64_t modality_vocab = modality.units().vocab_size;
  for (int64_t row = 0; row < item.batch.size(); ++row) {
    const int64_t sample = item.batch.sample_ids[static_cast<std::size_t>(row)];
    const RowView truth = modality_view(item.batch, item.corrupted, row, pipeline.units(), modality_vocab);
    out << "sample " << sample;
    if (item.corrupted.entry.defined())
      out << ", mixture entry " << entry_labels.at(static_cast<std::size_t>(item.corrupted.entry[row].item<int64_t>()))
          << (truth.mode_token.empty() ? "" : ", mode token " + truth.mode_token);
    out << "\n  truth: " << modality.preview(truth.batch, truth.corrupted, truth.row) << '\n';
    if (model) {
      const RowView view = modality_view(item.batch, guessed, row, pipeline.units(), modality_vocab);
      out << "  model: " << modality.preview(view.batch, view.corrupted, view.row) << '\n';
    }
    if (!picture_dir.empty()) {
      const auto picture = picture_dir / ("sample-" + std::to_string(sample) + ".png");
      if (modality.write_picture(item.batch, item.corrupted, model ? &guessed : nullptr, row, picture))
        out << "  picture: " << picture.string() << '\n';
    }
    out << '\n';
  }
  if (made_picture_dir && std::filesystem::is_empty(picture_dir)) std::filesystem::remove(picture_dir);
  return out.str();
}

}  // namespace cloze
