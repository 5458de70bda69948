// The denoising model: the modality's stem, a shared pre-LN Transformer
// encoder, and the modality's head. The stem and head are chosen from the
// units: an embedding table and a vocabulary head for discrete units, a linear
// projection in and out for continuous ones (MAE's patch stem and pixel head).
// Positions are learned, or fixed sin-cos bands per grid axis (MAE).
//
// In sequence mode a Transformer decoder, sharing the encoder's token
// embedding, sits between encoder and head. In fill mode (MAE) the encoder runs
// on the kept units only; a light decoder of its own width and depth gets the
// encoder's output at the kept positions and a learned mask embedding at every
// other grid position, and the head reconstructs the dropped ones. In detect
// mode (ELECTRA) a binary head says of every unit whether it was replaced. In place
// on continuous units (SimMIM) a learned mask embedding replaces the units
// that Corrupted::input_masked marks.
//
// Two objectives add a second network to the model, so that checkpoints,
// the optimizer, data parallelism and exported weights cover it unchanged:
// ELECTRA's generator (generator.h), which turns the model into the
// discriminator, and data2vec's teacher, an exponential moving average of the
// encoder whose block outputs are the targets (target = "latent"). Both are
// registered after every other part, so the parameters of models without them
// keep their names and order. How either is trained is objective.h's.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "cloze/core/corrupted.h"
#include "cloze/core/grid.h"
#include "cloze/core/params.h"
#include "cloze/core/units.h"
#include "cloze/model/generator.h"

namespace cloze {

// [model] section.
Schema model_schema();

struct ModelOptions {
  int64_t dim;
  int64_t layers;
  int64_t heads;
  double mlp_ratio;
  double dropout;
  int64_t decoder_layers = 0;  // sequence and fill modes; 0 = as deep as the encoder
  bool tie_embeddings = true;  // discrete units: the vocabulary head reuses the token embedding
  int64_t decoder_dim = 0;     // fill mode; 0 = as wide as the encoder
  int64_t decoder_heads = 0;   // fill mode; 0 = as many as the encoder's
  std::string positions = "auto";  // learned, sincos, or auto: sincos on grids of rank >= 2
  // data2vec (Baevski et al. 2022): "latent" regresses the teacher's averaged
  // top target_layers block outputs at the corrupted units; "units" scores the
  // corruption's own target.
  std::string target = "units";
  int64_t target_layers = 0;     // 0 = two thirds of layers (data2vec's 8 of 12), at least 1
  double ema_decay = 0.999;      // the teacher's decay at step 0, annealed linearly to
  double ema_end_decay = 0.9999; // this one over ema_anneal_steps
  int64_t ema_anneal_steps = 0;  // 0 = all of train.steps
  // ELECTRA (Clark et al. 2020): the generator's width as a share of dim; 0 = none.
  double generator = 0;
  int64_t generator_layers = 0;   // 0 = as deep as the discriminator
  double detection_weight = 50;  // lambda: loss = generator MLM + lambda x detection
  static ModelOptions from(const Params& params);  // validates, naming the key

  bool latent_target() const { return target == "latent"; }
  // The mode the model is built and scored in: detect with ELECTRA's
  // generator (the corruption's in-place batch feeds the generator), else the
  // corruption's own.
  ReconstructionMode trained_mode(ReconstructionMode corruption_mode) const {
    return generator > 0 ? ReconstructionMode::detect : corruption_mode;
  }
  // Neither ELECTRA nor data2vec: the loss is on the corruption's own target.
  bool scores_corruption_target() const { return generator == 0 && !latent_target(); }
  // How reports name the objective beyond its corruption: "" when it scores
  // the corruption's target, else "ELECTRA generator" or "data2vec latent".
  std::string objective_label() const {
    return generator > 0 ? "ELECTRA generator" : latent_target() ? "data2vec latent" : "";
  }
  int64_t averaged_layers() const {
    return target_layers > 0 ? target_layers : std::max<int64_t>(1, (2 * layers + 1) / 3);
  }
  // ELECTRA's generator heads are 64 wide, at least one.
  int64_t generator_width() const {
    return std::max<int64_t>(1, static_cast<int64_t>(generator * static_cast<double>(dim) + 0.5));
  }
  int64_t generator_heads() const { return std::max<int64_t>(1, generator_width() / 64); }
  int64_t generator_depth() const { return generator_layers > 0 ? generator_layers : layers; }

  int64_t decoder_depth() const { return decoder_layers > 0 ? decoder_layers : layers; }
  int64_t fill_width() const { return decoder_dim > 0 ? decoder_dim : dim; }
  int64_t fill_heads() const { return decoder_heads > 0 ? decoder_heads : heads; }
  bool fixed_positions(const Grid& grid) const {
    return positions == "sincos" || (positions == "auto" && grid.rank() >= 2);
  }
};

// What the model is built for, besides its options: the modality's units and
// grid, the corruption's reconstruction mode, and the longest input and target
// (sequence mode) it will see, from Corruption::max_lengths(grid.numel()).
struct ModelShape {
  UnitSpec units;
  Grid grid;
  ReconstructionMode mode = ReconstructionMode::in_place;
  int64_t max_input_length = 0;   // rows of the encoder's position table
  int64_t max_target_length = 0;  // rows of the decoder's position table (sequence mode;
                                  // in fill mode the grid's units)
};

class DenoisingModelImpl : public torch::nn::Module {
 public:
  // Throws cloze::Error for units, lengths or a mode the model cannot be built
  // for: sequence mode needs discrete units with bos and pad ids, sin-cos
  // positions a width that splits into a sin and cos band per grid axis, a
  // generator or a latent target an in-place corruption (a generator on
  // discrete units). With a generator the model is built in detect mode
  // whatever shape.mode says: shape.mode is the corruption's, which the
  // generator reads.
  DenoisingModelImpl(const ModelOptions& options, const ModelShape& shape);

  // Predictions at the positions where corrupted.loss_mask is true, in the
  // row-major order of loss_mask: [M, V] logits for discrete units, [M, D]
  // values for continuous ones, [M, 1] replaced-or-kept logits in detect
  // mode. The head runs only on those M positions. In sequence mode loss_mask
  // is [B, N_t] over the decoder's target positions, and the decoder reads
  // corrupted.decoder_input (teacher forcing); in fill mode it is [B, N] over
  // the whole grid.
  at::Tensor forward(const Corrupted& corrupted);

  // The encoder's output for every input unit: [B, N_in, dim].
  at::Tensor encode(const Corrupted& corrupted);

  // Each encoder block's output, before the final norm, first block first:
  // `layers` tensors of [B, N_in, dim].
  std::vector<at::Tensor> block_outputs(const Corrupted& corrupted);

  // Sequence mode: the decoder's output for every target position, [B, N_t, dim].
  // decoder_input: [B, N_t] ids; memory: [B, N_in, dim] from encode();
  // input_padding: [B, N_in] bool, true = filler, or undefined.
  at::Tensor decode(const at::Tensor& decoder_input, const at::Tensor& memory, const at::Tensor& input_padding);

  // Sequence mode: greedy decoding, for previews and eval. Starts each row from
  // bos_id, feeds back the argmax, and ends a row at eos_id (pad_id follows in
  // it); stops when every row has ended or after max_length tokens. [B, L] ids,
  // L <= max_length, without the bos. Runs without gradients; call eval()
  // first, or dropout stays on.
  at::Tensor generate(const Corrupted& corrupted, int64_t max_length);

  // Fill mode: the light decoder's output at every grid position, [B, N, decoder_dim].
  // memory: [B, K, dim] from encode(); the rest from `corrupted` (input_positions,
  // input_padding, target's N, target_padding).
  at::Tensor fill(const at::Tensor& memory, const Corrupted& corrupted);

  const ModelOptions& options() const { return options_; }

  // ELECTRA's generator, or null. It reads the token and position embeddings
  // of this model, which are shared with it, not copied.
  Generator& generator() { return generator_; }
  const at::Tensor& token_embedding() const { return token_embed_->weight; }
  const at::Tensor& position_embedding() const { return pos_embed_->weight; }

  // data2vec's teacher (target = "latent"), or null: a model of the same
  // options whose encoder follows this one's. It never takes gradients.
  std::shared_ptr<DenoisingModelImpl> teacher() const { return teacher_; }
  // teacher = decay x teacher + (1 - decay) x this model, for every encoder
  // parameter (stem, positions, blocks, final norm), data2vec's EMA step.
  void update_teacher(double decay);

 private:
  struct Teacher {};  // tag: the constructor of a teacher, which has none of its own
  DenoisingModelImpl(const ModelOptions& options, const ModelShape& shape, Teacher);

  // The constructor's parts, called in this order.
  void build_stem(const ModelShape& shape, bool fixed_positions);
  void build_encoder();
  void build_sequence_decoder(const ModelShape& shape);
  void build_fill_decoder(const ModelShape& shape, bool fixed_positions);
  void build_head();
  void build_generator(const ModelShape& shape);
  void initialise();
  void build_teacher(const ModelShape& shape);
  at::Tensor run_blocks(const Corrupted& corrupted, std::vector<at::Tensor>* outputs);  // before the final norm

  at::Tensor head(const at::Tensor& hidden);  // [M, dim] (fill: decoder_dim) -> [M, V] or [M, D]
  void require_mode(ReconstructionMode mode, const std::string& what) const;  // throws naming `what` in other modes

  ModelOptions options_;
  UnitSpec units_;
  ReconstructionMode mode_;

  // stem: one of token_embed_ (discrete) or unit_proj_ (continuous)
  torch::nn::Embedding token_embed_{nullptr};
  torch::nn::Linear unit_proj_{nullptr};
  torch::nn::Embedding pos_embed_{nullptr};
  torch::nn::Dropout embed_dropout_{nullptr};

  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};

  // continuous units in place (SimMIM): [dim], put where input_masked is true
  at::Tensor mask_embed_;

  // sequence mode: decoder blocks over token_embed_ plus their own positions;
  // fill mode: decoder blocks over decoder_embed_(encoder output) and
  // decoder_mask_embed_ [decoder_dim] at the dropped positions, plus positions
  torch::nn::Embedding decoder_pos_embed_{nullptr};
  torch::nn::ModuleList decoder_blocks_{nullptr};
  torch::nn::LayerNorm decoder_norm_{nullptr};
  torch::nn::Linear decoder_embed_{nullptr};
  at::Tensor decoder_mask_embed_;

  // head: discrete units as BERT's MLM head, dense + GELU + LayerNorm, then the
  // token embedding reused as the output layer plus head_bias_ (tie_embeddings),
  // or a separate Linear head_out_ to the vocabulary; continuous units a linear
  // map back to the unit's values (head_out_); detect mode ELECTRA's
  // discriminator head, dense + GELU + a Linear detect_out_ to one logit; a
  // latent target data2vec's linear regression head_out_ to dim values
  torch::nn::Linear head_dense_{nullptr};
  torch::nn::LayerNorm head_norm_{nullptr};
  at::Tensor head_bias_;
  torch::nn::Linear head_out_{nullptr};
  torch::nn::Linear detect_out_{nullptr};

  Generator generator_{nullptr};
  std::shared_ptr<DenoisingModelImpl> teacher_;
  // (teacher's, this model's) encoder parameters, paired once when the
  // teacher is built: moving or loading the model updates tensors in place.
  std::vector<std::pair<at::Tensor, at::Tensor>> teacher_pairs_;
};

TORCH_MODULE(DenoisingModel);

}  // namespace cloze
