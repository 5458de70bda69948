// The denoising model: stem (token embedding or linear patch projection, plus a
// learned position embedding over the grid), the shared Transformer blocks, and
// the head, which runs only where the loss counts.
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

}  // namespace

Schema model_schema() {
  return {
      {"dim", ParamType::integer, int64_t{256}, "width of the Transformer: embedding and hidden size"},
      {"layers", ParamType::integer, int64_t{4}, "number of Transformer blocks"},
      {"heads", ParamType::integer, int64_t{4}, "attention heads per block; must divide dim"},
      {"mlp_ratio", ParamType::real, 4.0, "hidden width of each block's MLP, as a multiple of dim"},
      {"dropout", ParamType::real, 0.1, "dropout on the embeddings, the attention weights and each residual branch"},
  };
}

ModelOptions ModelOptions::from(const Params& params) {
  ModelOptions options{params.integer("dim"), params.integer("layers"), params.integer("heads"),
                       params.real("mlp_ratio"), params.real("dropout")};
  params.require(options.dim > 0, "dim", "must be positive");
  params.require(options.layers > 0, "layers", "must be positive");
  params.require(options.heads > 0, "heads", "must be positive");
  params.require(options.dim % options.heads == 0, "heads",
                 "must divide model.dim = " + std::to_string(options.dim) + " (each head gets dim / heads values)");
  params.require(options.mlp_ratio > 0 && static_cast<double>(options.dim) * options.mlp_ratio >= 1, "mlp_ratio",
                 "must be positive, and dim * mlp_ratio at least 1");
  params.require(options.dropout >= 0 && options.dropout < 1, "dropout", "must be in [0, 1)");
  return options;
}

DenoisingModelImpl::DenoisingModelImpl(const ModelOptions& options, const UnitSpec& units, const Grid& grid,
                                       ReconstructionMode mode)
    : options_(options), units_(units) {
  if (mode != ReconstructionMode::in_place)
    throw Error("model: reconstruction mode '" + to_string(mode) +
                "' is not supported yet; only 'in_place' (the encoder predicts every position) is");
  if (grid.numel() <= 0) throw Error("model: grid " + grid.to_string() + " holds no units");
  const int64_t dim = options.dim;
  const bool discrete = units.kind == UnitKind::discrete;
  if (discrete && units.vocab_size <= 0)
    throw Error("model: discrete units need a vocabulary, but vocab_size is " + std::to_string(units.vocab_size));
  if (!discrete && units.unit_dim <= 0)
    throw Error("model: continuous units need unit_dim > 0, but it is " + std::to_string(units.unit_dim));

  if (discrete)
    token_embed_ = register_module("token_embed", torch::nn::Embedding(units.vocab_size, dim));
  else
    unit_proj_ = register_module("unit_proj", torch::nn::Linear(units.unit_dim, dim));
  pos_embed_ = register_module("pos_embed", torch::nn::Embedding(grid.numel(), dim));
  embed_dropout_ = register_module("embed_dropout", torch::nn::Dropout(options.dropout));

  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.layers; ++i)
    blocks_->push_back(TransformerBlock(dim, options.heads, options.mlp_ratio, options.dropout));
  norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));

  if (discrete) {
    head_dense_ = register_module("head_dense", torch::nn::Linear(dim, dim));
    head_norm_ = register_module("head_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
    head_bias_ = register_parameter("head_bias", at::zeros({units.vocab_size}));
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

at::Tensor DenoisingModelImpl::forward(const Corrupted& corrupted) {
  at::Tensor hidden = encode(corrupted);  // [B, N, dim]
  if (!corrupted.loss_mask.defined() || corrupted.loss_mask.sizes() != hidden.sizes().slice(0, 2))
    throw Error("model: loss_mask is " + shape_of(corrupted.loss_mask) +
                ", in-place reconstruction needs [B, N_in] = " + shape_of(corrupted.input_positions));
  // Row-major positions of the scored units, so predictions line up with target[loss_mask].
  const at::Tensor rows = corrupted.loss_mask.reshape({-1}).nonzero().squeeze(1);  // [M]
  return head(hidden.view({-1, options_.dim}).index_select(0, rows));
}

at::Tensor DenoisingModelImpl::head(const at::Tensor& hidden) {
  if (head_out_) return head_out_->forward(hidden);  // [M, D]
  at::Tensor h = head_norm_->forward(at::gelu(head_dense_->forward(hidden)));
  // The decoder is the input embedding itself (tied, as in BERT), not a copy.
  return at::linear(h, token_embed_->weight, head_bias_);  // [M, V]
}

}  // namespace cloze
