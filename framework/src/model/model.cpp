// The denoising model: stem (token embedding or linear patch projection, plus
// learned or sin-cos positions), the shared Transformer encoder, in sequence
// mode a Transformer decoder with its own positions and the encoder's token
// embedding, in fill mode MAE's light decoder over the whole grid, and the
// head, which runs only where the loss counts.
#include "cloze/model/model.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"
#include "cloze/model/embedding_lookup.h"
#include "cloze/model/positions.h"
#include "cloze/model/transformer.h"

namespace cloze {

namespace {

bool in_vocab(int64_t id, const UnitSpec& units) { return id >= 0 && id < units.vocab_size; }

// A position table of `rows` x `width`: learned, or fixed sin-cos over `grid`
// (MAE). A fixed table stays an Embedding, frozen, so checkpoints and exported
// weights name it the same either way.
torch::nn::Embedding position_table(int64_t rows, int64_t width, const Grid& grid, bool fixed) {
  torch::nn::Embedding table(rows, width);
  if (fixed) {
    // A 1-d grid can be shorter than the table (sequence inputs); a 2-d one must match it.
    const Grid positions = grid.rank() == 1 ? Grid{{rows}} : grid;
    if (positions.numel() != rows)
      throw Error("model: sin-cos positions cover grid " + grid.to_string() + ", but the table needs " +
                  std::to_string(rows) + " rows");
    at::NoGradGuard no_grad;
    table->weight.copy_(sincos_positions(positions, width));
    table->weight.set_requires_grad(false);
  }
  return table;
}

at::Tensor small_normal(int64_t width) { return at::empty({width}).normal_(0.0, 0.02); }

}  // namespace

Schema model_schema() {
  return {
      {"dim", ParamType::integer, int64_t{256}, "width of the Transformer: embedding and hidden size"},
      {"layers", ParamType::integer, int64_t{4}, "number of Transformer blocks (the encoder's, in sequence mode)"},
      {"heads", ParamType::integer, int64_t{4}, "attention heads per block; must divide dim"},
      {"mlp_ratio", ParamType::real, 4.0, "hidden width of each block's MLP, as a multiple of dim"},
      {"dropout", ParamType::real, 0.1, "dropout on the embeddings, the attention weights and each residual branch"},
      {"decoder_layers", ParamType::integer, int64_t{0},
       "decoder blocks in sequence mode (T5, BART) and fill mode (MAE); 0 = as many as layers"},
      {"tie_embeddings", ParamType::boolean, true,
       "discrete units: the vocabulary head reuses the token embedding; false = a separate output layer"},
      {"decoder_dim", ParamType::integer, int64_t{0}, "width of the fill-mode decoder (MAE's 512); 0 = dim"},
      {"decoder_heads", ParamType::integer, int64_t{0}, "attention heads of the fill-mode decoder; 0 = heads"},
      {"positions", ParamType::string, std::string("auto"),
       "learned, sincos (fixed, a band per grid axis, as MAE) or auto: sincos on image and audio grids"},
      ParamSpec{"target", ParamType::string, std::string("units"),
                "units: reconstruct what the corruption hid; latent: regress an EMA teacher's averaged block outputs "
                "at the corrupted units (data2vec)"}
          .one_of({"units", "latent"}),
      ParamSpec{"target_layers", ParamType::integer, int64_t{0},
                "latent target: the teacher's top blocks averaged (data2vec's K); 0 = two thirds of layers"}
          .at_least(0),
      ParamSpec{"ema_decay", ParamType::real, 0.999, "latent target: the teacher's EMA decay at the first step"}.within(0, 1),
      ParamSpec{"ema_end_decay", ParamType::real, 0.9999, "latent target: the decay reached after ema_anneal_steps"}
          .within(0, 1),
      ParamSpec{"ema_anneal_steps", ParamType::integer, int64_t{0},
                "latent target: steps of the linear anneal from ema_decay to ema_end_decay; 0 = train.steps"}
          .at_least(0),
      ParamSpec{"generator", ParamType::real, 0.0,
                "ELECTRA: the generator's width as a share of dim (the paper's 1/4 to 1/2); 0 = no generator"}
          .within(0, 1),
      ParamSpec{"generator_layers", ParamType::integer, int64_t{0}, "ELECTRA: generator blocks; 0 = as many as layers"}
          .at_least(0),
      ParamSpec{"detection_weight", ParamType::real, 50.0,
                "ELECTRA: lambda in generator MLM loss + lambda x replaced-token detection loss"}
          .above(0),
  };
}

ModelOptions ModelOptions::from(const Params& params) {
  ModelOptions options{params.integer("dim"),         params.integer("layers"),
                       params.integer("heads"),       params.real("mlp_ratio"),
                       params.real("dropout"),        params.integer("decoder_layers"),
                       params.boolean("tie_embeddings"), params.integer("decoder_dim"),
                       params.integer("decoder_heads"), params.string("positions"),
                       params.string("target"),      params.integer("target_layers"),
                       params.real("ema_decay"),     params.real("ema_end_decay"),
                       params.integer("ema_anneal_steps"), params.real("generator"),
                       params.integer("generator_layers"), params.real("detection_weight")};
  params.require(options.dim > 0, "dim", "must be positive");
  params.require(options.layers > 0, "layers", "must be positive");
  params.require(options.heads > 0, "heads", "must be positive");
  params.require(options.dim % options.heads == 0, "heads",
                 "must divide model.dim = " + std::to_string(options.dim) + " (each head gets dim / heads values)");
  params.require(options.mlp_ratio > 0 && static_cast<double>(options.dim) * options.mlp_ratio >= 1, "mlp_ratio",
                 "must be positive, and dim * mlp_ratio at least 1");
  params.require(options.dropout >= 0 && options.dropout < 1, "dropout", "must be in [0, 1)");
  params.require(options.decoder_layers >= 0, "decoder_layers", "must be positive, or 0 for as many as layers");
  params.require(options.decoder_dim >= 0, "decoder_dim", "must be positive, or 0 for as wide as dim");
  params.require(options.decoder_heads >= 0, "decoder_heads", "must be positive, or 0 for as many as heads");
  params.require(options.fill_width() % options.fill_heads() == 0, "decoder_heads",
                 "must divide the decoder's width " + std::to_string(options.fill_width()));
  params.require(options.positions == "auto" || options.positions == "learned" || options.positions == "sincos",
                 "positions", "must be auto, learned or sincos");
  params.require(options.target_layers <= options.layers, "target_layers",
                 "must be at most layers = " + std::to_string(options.layers));
  params.require(!(options.latent_target() && options.generator > 0), "generator",
                 "must be 0 with target = \"latent\": a model trains either ELECTRA's or data2vec's objective");
  params.require(options.generator == 0 || options.generator_width() % options.generator_heads() == 0, "generator",
                 "gives a width of " + std::to_string(options.generator_width()) +
                     ", which does not split into heads of 64");
  return options;
}

namespace {

// What every mode needs of the shape and the units; throws naming the field.
void check_shape(const ModelOptions& options, const ModelShape& shape) {
  const UnitSpec& units = shape.units;
  const bool sequence = shape.mode == ReconstructionMode::sequence;
  const bool fill = shape.mode == ReconstructionMode::fill;
  if (shape.grid.numel() <= 0) throw Error("model: grid " + shape.grid.to_string() + " holds no units");
  if (shape.max_input_length <= 0)
    throw Error("model: max_input_length is " + std::to_string(shape.max_input_length) + ", must be positive");
  if ((sequence || fill) && shape.max_target_length <= 0)
    throw Error("model: " + to_string(shape.mode) + " reconstruction needs max_target_length > 0, but it is " +
                std::to_string(shape.max_target_length));
  const bool discrete = units.kind == UnitKind::discrete;
  if (discrete && units.vocab_size <= 0)
    throw Error("model: discrete units need a vocabulary, but vocab_size is " + std::to_string(units.vocab_size));
  if (!discrete && units.unit_dim <= 0)
    throw Error("model: continuous units need unit_dim > 0, but it is " + std::to_string(units.unit_dim));
  if (sequence && !discrete)
    throw Error("model: sequence reconstruction decodes token ids, so it needs discrete units, not continuous ones");
  // The decoder starts from bos and generate() feeds pad after a row's eos.
  if (sequence && !(in_vocab(units.bos_id, units) && in_vocab(units.pad_id, units)))
    throw Error("model: sequence reconstruction needs bos and pad ids in the vocabulary of " +
                std::to_string(units.vocab_size) + ", but bos_id is " + std::to_string(units.bos_id) +
                " and pad_id " + std::to_string(units.pad_id));
  if (options.generator > 0 && !(discrete && shape.mode == ReconstructionMode::in_place))
    throw Error("model.generator: ELECTRA's generator fills in the units an in-place corruption masked (token_mask), "
                "so it needs discrete units in place, not " + to_string(shape.mode) + " reconstruction on " +
                to_string(units.kind) + " units");
  if (options.latent_target() && shape.mode != ReconstructionMode::in_place)
    throw Error("model.target: a latent target is regressed at the units an in-place corruption hid (token_mask, "
                "patch_mask with mode = \"in_place\"), not in " + to_string(shape.mode) + " reconstruction");
}

}  // namespace

// The parts are registered in this order whatever the mode (stem, encoder,
// decoder, head), so parameter names and their order, and with them
// checkpoints and the initial weights a seed draws, stay as they are.
DenoisingModelImpl::DenoisingModelImpl(const ModelOptions& options, const ModelShape& shape)
    : options_(options),
      units_(shape.units),
      mode_(options.trained_mode(shape.mode)) {
  check_shape(options, shape);
  const bool fixed_positions = options.fixed_positions(shape.grid);
  build_stem(shape, fixed_positions);
  build_encoder();
  if (shape.mode == ReconstructionMode::sequence) build_sequence_decoder(shape);
  if (shape.mode == ReconstructionMode::fill) build_fill_decoder(shape, fixed_positions);
  build_head();
  if (options.generator > 0) build_generator(shape);
  initialise();
  if (options.latent_target()) build_teacher(shape);
}

// A teacher is the stem and encoder alone: its targets are block outputs.
DenoisingModelImpl::DenoisingModelImpl(const ModelOptions& options, const ModelShape& shape, Teacher)
    : options_(options), units_(shape.units), mode_(shape.mode) {
  build_stem(shape, options.fixed_positions(shape.grid));
  build_encoder();
}

void DenoisingModelImpl::build_stem(const ModelShape& shape, bool fixed_positions) {
  const int64_t dim = options_.dim;
  if (units_.kind == UnitKind::discrete)
    token_embed_ = register_module("token_embed", torch::nn::Embedding(units_.vocab_size, dim));
  else
    unit_proj_ = register_module("unit_proj", torch::nn::Linear(units_.unit_dim, dim));
  if (units_.kind != UnitKind::discrete && mode_ == ReconstructionMode::in_place)
    mask_embed_ = register_parameter("mask_embed", small_normal(dim));
  pos_embed_ = register_module("pos_embed", position_table(shape.max_input_length, dim, shape.grid, fixed_positions));
  embed_dropout_ = register_module("embed_dropout", torch::nn::Dropout(options_.dropout));
}

void DenoisingModelImpl::build_encoder() {
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.layers; ++i)
    blocks_->push_back(TransformerBlock(options_.dim, options_.heads, options_.mlp_ratio, options_.dropout));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({options_.dim})));
}

// T5 and BART: causal blocks with cross-attention over the encoder output,
// on the token embedding plus their own learned positions.
void DenoisingModelImpl::build_sequence_decoder(const ModelShape& shape) {
  const int64_t dim = options_.dim;
  decoder_pos_embed_ = register_module("decoder_pos_embed", torch::nn::Embedding(shape.max_target_length, dim));
  decoder_blocks_ = register_module("decoder_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.decoder_depth(); ++i)
    decoder_blocks_->push_back(DecoderBlock(dim, options_.heads, options_.mlp_ratio, options_.dropout));
  decoder_norm_ = register_module("decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
}

// MAE: a narrower stack over the projected encoder output with a learned
// mask token at the dropped positions, and its own positions.
void DenoisingModelImpl::build_fill_decoder(const ModelShape& shape, bool fixed_positions) {
  const int64_t width = options_.fill_width();
  decoder_embed_ = register_module("decoder_embed", torch::nn::Linear(options_.dim, width));
  decoder_mask_embed_ = register_parameter("decoder_mask_embed", small_normal(width));
  decoder_pos_embed_ = register_module(
      "decoder_pos_embed", position_table(shape.max_target_length, width, shape.grid, fixed_positions));
  decoder_blocks_ = register_module("decoder_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options_.decoder_depth(); ++i)
    decoder_blocks_->push_back(TransformerBlock(width, options_.fill_heads(), options_.mlp_ratio, options_.dropout));
  decoder_norm_ = register_module("decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})));
}

void DenoisingModelImpl::build_head() {
  const int64_t dim = options_.dim;
  const int64_t width = mode_ == ReconstructionMode::fill ? options_.fill_width() : dim;
  if (mode_ == ReconstructionMode::detect) {
    head_dense_ = register_module("head_dense", torch::nn::Linear(dim, dim));
    detect_out_ = register_module("detect_out", torch::nn::Linear(dim, 1));
  } else if (options_.latent_target()) {
    head_out_ = register_module("head_out", torch::nn::Linear(dim, dim));
  } else if (units_.kind == UnitKind::discrete) {
    head_dense_ = register_module("head_dense", torch::nn::Linear(width, dim));
    head_norm_ = register_module("head_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (options_.tie_embeddings)
      head_bias_ = register_parameter("head_bias", at::zeros({units_.vocab_size}));
    else
      head_out_ = register_module("head_out", torch::nn::Linear(dim, units_.vocab_size));
  } else {
    head_out_ = register_module("head_out", torch::nn::Linear(width, units_.unit_dim));
  }
}

void DenoisingModelImpl::build_generator(const ModelShape& shape) {
  generator_ = register_module(
      "generator", Generator(GeneratorShape{options_.dim, options_.generator_width(), options_.generator_depth(),
                                            options_.generator_heads(), options_.mlp_ratio, options_.dropout,
                                            shape.units.vocab_size}));
}

// The teacher starts as a copy of the initialised encoder, frozen. Its mask
// embedding stays out of the pairs, as it never sees a masked unit; so do
// fixed sin-cos positions, equal on both sides already, which averaging
// would only round.
void DenoisingModelImpl::build_teacher(const ModelShape& shape) {
  teacher_ = register_module("teacher",
                             std::shared_ptr<DenoisingModelImpl>(new DenoisingModelImpl(options_, shape, Teacher{})));
  const auto mine = named_parameters(/*recurse=*/true);
  for (const auto& item : teacher_->named_parameters(/*recurse=*/true)) {
    const at::Tensor& student = mine[item.key()];
    if (item.key() != "mask_embed" && student.requires_grad()) teacher_pairs_.emplace_back(item.value(), student);
  }
  at::NoGradGuard no_grad;
  for (auto& [teacher, student] : teacher_pairs_) teacher.copy_(student);
  for (auto& parameter : teacher_->parameters()) parameter.set_requires_grad(false);
}

void DenoisingModelImpl::update_teacher(double decay) {
  if (!teacher_) throw Error("model: update_teacher() needs a model with target = \"latent\"");
  at::NoGradGuard no_grad;
  for (auto& [teacher, student] : teacher_pairs_) teacher.mul_(decay).add_(student, 1.0 - decay);
}

// BERT's initialisation; LayerNorms keep their ones and zeros, fixed
// positions their sin-cos table.
void DenoisingModelImpl::initialise() {
  at::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, 0.02);
      linear->bias.zero_();
    } else if (auto* embedding = module->as<torch::nn::Embedding>()) {
      if (embedding->weight.requires_grad()) embedding->weight.normal_(0.0, 0.02);
    }
  }
}

at::Tensor DenoisingModelImpl::encode(const Corrupted& corrupted) {
  return norm_->forward(run_blocks(corrupted, nullptr));
}

std::vector<at::Tensor> DenoisingModelImpl::block_outputs(const Corrupted& corrupted) {
  std::vector<at::Tensor> outputs;
  run_blocks(corrupted, &outputs);
  return outputs;
}

at::Tensor DenoisingModelImpl::run_blocks(const Corrupted& corrupted, std::vector<at::Tensor>* outputs) {
  const at::Tensor& input = corrupted.input;
  const bool discrete = units_.kind == UnitKind::discrete;
  const bool input_ok = input.defined() && (discrete ? input.dim() == 2
                                                     : input.dim() == 3 && input.size(2) == units_.unit_dim);
  if (!input_ok)
    throw Error("model: input is " + shape_of(input) + ", expected " +
                (discrete ? std::string("[B, N] ids") : "[B, N, " + std::to_string(units_.unit_dim) + "] values"));
  const auto batch_shape = input.sizes().slice(0, 2);
  if (!corrupted.input_positions.defined() || corrupted.input_positions.sizes() != batch_shape)
    throw Error("model: input_positions is " + shape_of(corrupted.input_positions) + ", input is " +
                shape_of(input));
  if (corrupted.input_padding.defined() && corrupted.input_padding.sizes() != batch_shape)
    throw Error("model: input_padding is " + shape_of(corrupted.input_padding) + ", input is " + shape_of(input));

  at::Tensor x = discrete ? embedding_lookup(token_embed_->weight, input) : linear(unit_proj_, input);  // [B, N, dim]
  if (corrupted.input_masked.defined()) {
    if (!mask_embed_.defined())
      throw Error("model: input_masked asks for a mask embedding, which only a model built for continuous units in "
                  "place has (this one is " + to_string(mode_) + " on " + to_string(units_.kind) + " units)");
    if (corrupted.input_masked.sizes() != batch_shape)
      throw Error("model: input_masked is " + shape_of(corrupted.input_masked) + ", input is " + shape_of(input));
    x = at::where(corrupted.input_masked.unsqueeze(-1), mask_embed_.to(x.scalar_type()), x);
  }
  x = embed_dropout_->forward(x + embedding_lookup(pos_embed_->weight, corrupted.input_positions));
  // One mask for every block; no padding given means every key is real.
  const at::Tensor mask = corrupted.input_padding.defined() ? key_padding_mask(corrupted.input_padding) : at::Tensor();
  for (const auto& block : *blocks_) {
    x = block->as<TransformerBlock>()->forward(x, mask);
    if (outputs != nullptr) outputs->push_back(x);
  }
  return x;
}

void DenoisingModelImpl::require_mode(ReconstructionMode mode, const std::string& what) const {
  if (mode_ != mode)
    throw Error("model: " + what + " needs a model built for " + to_string(mode) + " reconstruction, this one is '" +
                to_string(mode_) + "'");
}

at::Tensor DenoisingModelImpl::decode(const at::Tensor& decoder_input, const at::Tensor& memory,
                                      const at::Tensor& input_padding) {
  require_mode(ReconstructionMode::sequence, "decode()");
  if (!decoder_input.defined() || decoder_input.dim() != 2 || decoder_input.size(0) != memory.size(0))
    throw Error("model: decoder_input is " + shape_of(decoder_input) + ", expected [B, N_t] ids with B = " +
                std::to_string(memory.size(0)));
  const int64_t length = decoder_input.size(1), max_length = decoder_pos_embed_->weight.size(0);
  if (length > max_length)
    throw Error("model: decoder_input holds " + std::to_string(length) + " positions, more than the " +
                std::to_string(max_length) + " of max_target_length");

  const at::Tensor positions = at::arange(length, decoder_input.options().dtype(at::kLong));  // [N_t]
  at::Tensor x = embed_dropout_->forward(embedding_lookup(token_embed_->weight, decoder_input) +
                                         embedding_lookup(decoder_pos_embed_->weight, positions));  // [B, N_t, dim]
  const at::Tensor memory_mask = input_padding.defined() ? key_padding_mask(input_padding) : at::Tensor();
  for (const auto& block : *decoder_blocks_) x = block->as<DecoderBlock>()->forward(x, memory, memory_mask);
  return decoder_norm_->forward(x);
}

at::Tensor DenoisingModelImpl::fill(const at::Tensor& memory, const Corrupted& corrupted) {
  require_mode(ReconstructionMode::fill, "fill()");
  const at::Tensor& positions = corrupted.input_positions;  // [B, K]
  if (!corrupted.target.defined() || corrupted.target.dim() < 2 || corrupted.target.size(0) != memory.size(0))
    throw Error("model: fill mode needs the target over the whole grid, [B, N], but it is " +
                shape_of(corrupted.target));
  const int64_t batch = memory.size(0), kept = memory.size(1), grid = corrupted.target.size(1);
  if (grid != decoder_pos_embed_->weight.size(0))
    throw Error("model: the target covers " + std::to_string(grid) + " grid positions, the fill decoder was built for " +
                std::to_string(decoder_pos_embed_->weight.size(0)));
  if (corrupted.target_padding.defined() && corrupted.target_padding.sizes() != corrupted.target.sizes().slice(0, 2))
    throw Error("model: target_padding is " + shape_of(corrupted.target_padding) + ", target is " +
                shape_of(corrupted.target));

  // Which input slot each grid position reads: its kept unit's slot, or slot K,
  // the mask embedding. Filler input slots are routed to a spare column N, so
  // they never overwrite a dropped position's mask embedding.
  const auto ids = positions.options();
  const at::Tensor destination = corrupted.input_padding.defined()
                                     ? positions.masked_fill(corrupted.input_padding, grid)
                                     : positions;  // [B, K]
  const at::Tensor slot = at::full({batch, grid + 1}, kept, ids)
                              .scatter_(1, destination, at::arange(kept, ids).expand({batch, kept}))
                              .narrow(1, 0, grid);  // [B, N]
  const at::Tensor embedded = linear(decoder_embed_, memory);  // [B, K, decoder_dim]
  const int64_t width = embedded.size(2);
  const at::Tensor mask = decoder_mask_embed_.to(embedded.scalar_type()).expand({batch, 1, width});
  at::Tensor x = at::cat({embedded, mask}, 1).gather(1, slot.unsqueeze(-1).expand({batch, grid, width}));
  x = embed_dropout_->forward(x + decoder_pos_embed_->weight.to(x.scalar_type()));  // [B, N, decoder_dim]
  const at::Tensor padding_mask =
      corrupted.target_padding.defined() ? key_padding_mask(corrupted.target_padding) : at::Tensor();
  for (const auto& block : *decoder_blocks_) x = block->as<TransformerBlock>()->forward(x, padding_mask);
  return decoder_norm_->forward(x);
}

at::Tensor DenoisingModelImpl::forward(const Corrupted& corrupted) {
  at::Tensor hidden = encode(corrupted);  // [B, N_in, dim]
  std::string expected = ", in-place reconstruction needs [B, N_in] = " + shape_of(corrupted.input_positions);
  if (mode_ == ReconstructionMode::sequence) {
    hidden = decode(corrupted.decoder_input, hidden, corrupted.input_padding);  // [B, N_t, dim]
    expected = ", sequence reconstruction needs [B, N_t] = " + shape_of(corrupted.decoder_input);
  } else if (mode_ == ReconstructionMode::fill) {
    hidden = fill(hidden, corrupted);  // [B, N, decoder_dim]
    expected = ", fill reconstruction needs [B, N] over the grid = [" + std::to_string(hidden.size(0)) + ", " +
               std::to_string(hidden.size(1)) + "]";
  }
  if (!corrupted.loss_mask.defined() || corrupted.loss_mask.sizes() != hidden.sizes().slice(0, 2))
    throw Error("model: loss_mask is " + shape_of(corrupted.loss_mask) + expected);
  // Row-major positions of the scored units, so predictions line up with target[loss_mask].
  const at::Tensor rows = corrupted.loss_mask.reshape({-1}).nonzero().squeeze(1);  // [M]
  return head(hidden.reshape({-1, hidden.size(2)}).index_select(0, rows));
}

at::Tensor DenoisingModelImpl::generate(const Corrupted& corrupted, int64_t max_length) {
  require_mode(ReconstructionMode::sequence, "generate()");
  const int64_t table = decoder_pos_embed_->weight.size(0);
  if (max_length <= 0 || max_length > table)
    throw Error("model: generate() max_length is " + std::to_string(max_length) + ", must be in [1, " +
                std::to_string(table) + "] (max_target_length)");
  at::NoGradGuard no_grad;
  const at::Tensor memory = encode(corrupted);  // [B, N_in, dim]
  const int64_t batch = memory.size(0);
  const auto ids = corrupted.input.options().dtype(at::kLong);
  at::Tensor tokens = at::full({batch, 1}, units_.bos_id, ids);  // [B, 1 + generated]
  at::Tensor ended = at::zeros({batch}, ids.dtype(at::kBool));    // [B]
  // No cache: each step reruns the decoder over the whole prefix, which is
  // cheap at preview sizes and cannot drift from forward().
  for (int64_t step = 0; step < max_length && !ended.all().item<bool>(); ++step) {
    const at::Tensor hidden = decode(tokens, memory, corrupted.input_padding);            // [B, t, dim]
    const at::Tensor next = head(hidden.select(1, -1)).argmax(1).masked_fill(ended, units_.pad_id);  // [B]
    tokens = at::cat({tokens, next.unsqueeze(1)}, 1);
    ended.logical_or_(next.eq(units_.eos_id));
  }
  return tokens.narrow(1, 1, tokens.size(1) - 1);  // [B, L]
}

at::Tensor DenoisingModelImpl::head(const at::Tensor& hidden) {
  if (mode_ == ReconstructionMode::detect) return linear(detect_out_, at::gelu(linear(head_dense_, hidden)));  // [M, 1]
  if (units_.kind == UnitKind::continuous || options_.latent_target()) return linear(head_out_, hidden);  // [M, D]
  at::Tensor h = head_norm_->forward(at::gelu(linear(head_dense_, hidden)));
  if (head_out_) return linear(head_out_, h);  // [M, V]
  // The output layer is the input embedding itself (tied, as in BERT), not a copy.
  return at::linear(h, token_embed_->weight, head_bias_);  // [M, V]
}

}  // namespace cloze
