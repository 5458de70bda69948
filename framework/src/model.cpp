// The denoising model: stem (token embedding or linear patch projection, plus a
// learned position embedding), the shared Transformer encoder, in sequence mode
// a Transformer decoder with its own positions and the encoder's token
// embedding, and the head, which runs only where the loss counts.
#include "cloze/model.h"

#include <ATen/Functions.h>
#include <ATen/core/grad_mode.h>

#include <sstream>

#include "cloze/error.h"
#include "cloze/transformer.h"

namespace cloze {

namespace {

std::string shape_of(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream out;
  out << t.sizes();
  return out.str();
}

bool in_vocab(int64_t id, const UnitSpec& units) { return id >= 0 && id < units.vocab_size; }

}  // namespace

Schema model_schema() {
  return {
      {"dim", ParamType::integer, int64_t{256}, "width of the Transformer: embedding and hidden size"},
      {"layers", ParamType::integer, int64_t{4}, "number of Transformer blocks (the encoder's, in sequence mode)"},
      {"heads", ParamType::integer, int64_t{4}, "attention heads per block; must divide dim"},
      {"mlp_ratio", ParamType::real, 4.0, "hidden width of each block's MLP, as a multiple of dim"},
      {"dropout", ParamType::real, 0.1, "dropout on the embeddings, the attention weights and each residual branch"},
      {"decoder_layers", ParamType::integer, int64_t{0},
       "decoder blocks in sequence mode (T5, BART); 0 = as many as layers"},
      {"tie_embeddings", ParamType::boolean, true,
       "discrete units: the vocabulary head reuses the token embedding; false = a separate output layer"},
  };
}

ModelOptions ModelOptions::from(const Params& params) {
  ModelOptions options{params.integer("dim"),         params.integer("layers"),
                       params.integer("heads"),       params.real("mlp_ratio"),
                       params.real("dropout"),        params.integer("decoder_layers"),
                       params.boolean("tie_embeddings")};
  params.require(options.dim > 0, "dim", "must be positive");
  params.require(options.layers > 0, "layers", "must be positive");
  params.require(options.heads > 0, "heads", "must be positive");
  params.require(options.dim % options.heads == 0, "heads",
                 "must divide model.dim = " + std::to_string(options.dim) + " (each head gets dim / heads values)");
  params.require(options.mlp_ratio > 0 && static_cast<double>(options.dim) * options.mlp_ratio >= 1, "mlp_ratio",
                 "must be positive, and dim * mlp_ratio at least 1");
  params.require(options.dropout >= 0 && options.dropout < 1, "dropout", "must be in [0, 1)");
  params.require(options.decoder_layers >= 0, "decoder_layers", "must be positive, or 0 for as many as layers");
  return options;
}

DenoisingModelImpl::DenoisingModelImpl(const ModelOptions& options, const ModelShape& shape)
    : options_(options), units_(shape.units), mode_(shape.mode) {
  const UnitSpec& units = shape.units;
  const bool sequence = shape.mode == ReconstructionMode::sequence;
  if (shape.mode == ReconstructionMode::fill)
    throw Error("model: reconstruction mode 'fill' is not supported yet; only 'in_place' (the encoder predicts every "
                "position) and 'sequence' (an encoder-decoder) are");
  if (shape.grid.numel() <= 0) throw Error("model: grid " + shape.grid.to_string() + " holds no units");
  if (shape.max_input_length <= 0)
    throw Error("model: max_input_length is " + std::to_string(shape.max_input_length) + ", must be positive");
  if (sequence && shape.max_target_length <= 0)
    throw Error("model: sequence reconstruction needs max_target_length > 0, but it is " +
                std::to_string(shape.max_target_length));
  const int64_t dim = options.dim;
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

  if (discrete)
    token_embed_ = register_module("token_embed", torch::nn::Embedding(units.vocab_size, dim));
  else
    unit_proj_ = register_module("unit_proj", torch::nn::Linear(units.unit_dim, dim));
  pos_embed_ = register_module("pos_embed", torch::nn::Embedding(shape.max_input_length, dim));
  embed_dropout_ = register_module("embed_dropout", torch::nn::Dropout(options.dropout));

  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers; ++i)
    blocks_->push_back(TransformerBlock(dim, options.heads, options.mlp_ratio, options.dropout));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));

  if (sequence) {
    decoder_pos_embed_ = register_module("decoder_pos_embed", torch::nn::Embedding(shape.max_target_length, dim));
    decoder_blocks_ = register_module("decoder_blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < options.decoder_depth(); ++i)
      decoder_blocks_->push_back(DecoderBlock(dim, options.heads, options.mlp_ratio, options.dropout));
    decoder_norm_ = register_module("decoder_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  }

  if (discrete) {
    head_dense_ = register_module("head_dense", torch::nn::Linear(dim, dim));
    head_norm_ = register_module("head_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    if (options.tie_embeddings)
      head_bias_ = register_parameter("head_bias", at::zeros({units.vocab_size}));
    else
      head_out_ = register_module("head_out", torch::nn::Linear(dim, units.vocab_size));
  } else {
    head_out_ = register_module("head_out", torch::nn::Linear(dim, units.unit_dim));
  }

  // BERT's initialisation; LayerNorms keep their ones and zeros.
  at::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, 0.02);
      linear->bias.zero_();
    } else if (auto* embedding = module->as<torch::nn::Embedding>()) {
      embedding->weight.normal_(0.0, 0.02);
    }
  }
}

at::Tensor DenoisingModelImpl::encode(const Corrupted& corrupted) {
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

  at::Tensor x = discrete ? token_embed_->forward(input) : unit_proj_->forward(input);  // [B, N, dim]
  x = embed_dropout_->forward(x + pos_embed_->forward(corrupted.input_positions));
  // One mask for every block; no padding given means every key is real.
  const at::Tensor mask = corrupted.input_padding.defined() ? key_padding_mask(corrupted.input_padding) : at::Tensor();
  for (const auto& block : *blocks_) x = block->as<TransformerBlock>()->forward(x, mask);
  return norm_->forward(x);
}

void DenoisingModelImpl::require_sequence(const std::string& what) const {
  if (mode_ != ReconstructionMode::sequence)
    throw Error("model: " + what + " needs a model built for sequence reconstruction, this one is '" +
                to_string(mode_) + "'");
}

at::Tensor DenoisingModelImpl::decode(const at::Tensor& decoder_input, const at::Tensor& memory,
                                      const at::Tensor& input_padding) {
  require_sequence("decode()");
  if (!decoder_input.defined() || decoder_input.dim() != 2 || decoder_input.size(0) != memory.size(0))
    throw Error("model: decoder_input is " + shape_of(decoder_input) + ", expected [B, N_t] ids with B = " +
                std::to_string(memory.size(0)));
  const int64_t length = decoder_input.size(1), max_length = decoder_pos_embed_->weight.size(0);
  if (length > max_length)
    throw Error("model: decoder_input holds " + std::to_string(length) + " positions, more than the " +
                std::to_string(max_length) + " of max_target_length");

  const at::Tensor positions = at::arange(length, decoder_input.options().dtype(at::kLong));  // [N_t]
  at::Tensor x = embed_dropout_->forward(token_embed_->forward(decoder_input) +
                                         decoder_pos_embed_->forward(positions));  // [B, N_t, dim]
  const at::Tensor memory_mask = input_padding.defined() ? key_padding_mask(input_padding) : at::Tensor();
  for (const auto& block : *decoder_blocks_) x = block->as<DecoderBlock>()->forward(x, memory, memory_mask);
  return decoder_norm_->forward(x);
}

at::Tensor DenoisingModelImpl::forward(const Corrupted& corrupted) {
  const bool sequence = mode_ == ReconstructionMode::sequence;
  at::Tensor hidden = encode(corrupted);  // [B, N_in, dim]
  if (sequence) hidden = decode(corrupted.decoder_input, hidden, corrupted.input_padding);  // [B, N_t, dim]
  if (!corrupted.loss_mask.defined() || corrupted.loss_mask.sizes() != hidden.sizes().slice(0, 2))
    throw Error("model: loss_mask is " + shape_of(corrupted.loss_mask) +
                (sequence ? ", sequence reconstruction needs [B, N_t] = " + shape_of(corrupted.decoder_input)
                          : ", in-place reconstruction needs [B, N_in] = " + shape_of(corrupted.input_positions)));
  // Row-major positions of the scored units, so predictions line up with target[loss_mask].
  const at::Tensor rows = corrupted.loss_mask.reshape({-1}).nonzero().squeeze(1);  // [M]
  return head(hidden.reshape({-1, options_.dim}).index_select(0, rows));
}

at::Tensor DenoisingModelImpl::generate(const Corrupted& corrupted, int64_t max_length) {
  require_sequence("generate()");
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
  if (units_.kind == UnitKind::continuous) return head_out_->forward(hidden);  // [M, D]
  at::Tensor h = head_norm_->forward(at::gelu(head_dense_->forward(hidden)));
  if (head_out_) return head_out_->forward(h);  // [M, V]
  // The output layer is the input embedding itself (tied, as in BERT), not a copy.
  return at::linear(h, token_embed_->weight, head_bias_);  // [M, V]
}

}  // namespace cloze
