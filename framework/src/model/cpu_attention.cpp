// CPU attention as two kinds of work: one small GEMM per (batch, head) block,
// the blocks shared among the intra-op threads, straight on the heads'
// strided columns; and the masked softmax and its backward over all blocks at
// once, in place, by ATen's vectorised kernels.
#include "cloze/model/cpu_attention.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <cblas.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <limits>

#include "cloze/core/error.h"
#include "cloze/core/shape_text.h"

namespace cloze {

namespace {

// The (batch, head) blocks of a tensor: block (b, h) is a row-major matrix at
// data + b * batch_stride + h * head_stride with rows row_stride apart.
struct Blocks {
  float* data;
  int64_t batch_stride, head_stride, row_stride;
  float* at(int64_t b, int64_t h) const { return data + b * batch_stride + h * head_stride; }
};

// The heads of the columns [offset, offset + heads * head_dim) of [B, N, W]:
// head h starts at column offset + h * head_dim.
Blocks head_columns(const at::Tensor& x, int64_t heads, int64_t head_dim, int64_t offset = 0) {
  return {x.data_ptr<float>() + offset, x.stride(0), head_dim, x.stride(1)};
}

// [B, heads, rows, cols], contiguous: one whole matrix per block.
Blocks head_matrices(const at::Tensor& x) { return {x.data_ptr<float>(), x.stride(0), x.stride(1), x.stride(2)}; }

// C = alpha * op(A) op(B) for every block, blocks shared among the intra-op
// threads. Inside a parallel region OpenBLAS runs each call on its own thread,
// so a block's result does not depend on the thread count.
void blockwise_gemm(int64_t batch, int64_t heads, bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k,
                    float alpha, const Blocks& a, const Blocks& b, const Blocks& c) {
  const auto op = [](bool transpose) { return transpose ? CblasTrans : CblasNoTrans; };
  at::parallel_for(0, batch * heads, 1, [&](int64_t begin, int64_t end) {
    for (int64_t block = begin; block < end; ++block) {
      const int64_t i = block / heads, h = block % heads;
      cblas_sgemm(CblasRowMajor, op(transpose_a), op(transpose_b), static_cast<int>(m), static_cast<int>(n),
                  static_cast<int>(k), alpha, a.at(i, h), static_cast<int>(a.row_stride), b.at(i, h),
                  static_cast<int>(b.row_stride), 0.0f, c.at(i, h), static_cast<int>(c.row_stride));
    }
  });
}

struct Dims {
  int64_t batch, heads, queries, keys, head_dim;
  float scale;
};

// Where q, k and v (or their gradients) live.
struct Heads {
  Blocks q, k, v;
};

// softmax(scale q k^T, hidden keys masked) v into `out`'s heads; returns the
// probabilities [B, heads, Nq, Nk], which backward needs.
at::Tensor attention_forward(const Dims& d, const Heads& in, const c10::optional<at::Tensor>& hidden_keys,
                             const Blocks& out) {
  at::Tensor scores = at::empty({d.batch, d.heads, d.queries, d.keys}, at::kFloat);
  blockwise_gemm(d.batch, d.heads, false, true, d.queries, d.keys, d.head_dim, d.scale, in.q, in.k,
                 head_matrices(scores));
  if (hidden_keys) scores.masked_fill_(*hidden_keys, -std::numeric_limits<float>::infinity());
  // In place: the scores are not needed again, and a fresh buffer would be
  // one more allocation per layer and step.
  at::_softmax_out(scores, scores, -1, /*half_to_float=*/false);
  blockwise_gemm(d.batch, d.heads, false, false, d.queries, d.head_dim, d.keys, 1.0f, head_matrices(scores), in.v,
                 out);
  return scores;
}

void attention_backward(const Dims& d, const Heads& in, const at::Tensor& probabilities, const at::Tensor& grad_out,
                        const Heads& grad) {
  const Blocks out = head_columns(grad_out, d.heads, d.head_dim), p = head_matrices(probabilities);
  at::Tensor grad_scores = at::empty_like(probabilities);
  // out = P v: dv = P^T dout, dP = dout v^T.
  blockwise_gemm(d.batch, d.heads, true, false, d.keys, d.head_dim, d.queries, 1.0f, p, out, grad.v);
  blockwise_gemm(d.batch, d.heads, false, true, d.queries, d.keys, d.head_dim, 1.0f, out, in.v,
                 head_matrices(grad_scores));
  // dS = P (dP - rowsum(dP P)), in place over dP; hidden keys have P = 0,
  // so their score gradients are 0 too.
  at::_softmax_backward_data_out(grad_scores, grad_scores, probabilities, -1, at::kFloat);
  // scores = scale q k^T: dq = scale dS k, dk = scale dS^T q.
  const Blocks ds = head_matrices(grad_scores);
  blockwise_gemm(d.batch, d.heads, false, false, d.queries, d.head_dim, d.keys, d.scale, ds, in.k, grad.q);
  blockwise_gemm(d.batch, d.heads, true, false, d.keys, d.head_dim, d.queries, d.scale, ds, in.q, grad.k);
}

Dims dims_of(int64_t batch, int64_t heads, int64_t queries, int64_t keys, int64_t width) {
  const int64_t head_dim = width / heads;
  return {batch, heads, queries, keys, head_dim, static_cast<float>(1.0 / std::sqrt(head_dim))};
}

// q, k and v side by side in one [B, N, 3 * width] tensor.
class SelfAttention : public torch::autograd::Function<SelfAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* context, const at::Tensor& qkv, int64_t heads,
                            const c10::optional<at::Tensor>& hidden_keys) {
    const int64_t width = qkv.size(2) / 3;
    const Dims d = dims_of(qkv.size(0), heads, qkv.size(1), qkv.size(1), width);
    at::Tensor out = at::empty({d.batch, d.queries, width}, qkv.options());
    const at::Tensor probabilities = attention_forward(d, split(qkv, d), hidden_keys, head_columns(out, heads, d.head_dim));
    context->save_for_backward({qkv, probabilities});
    context->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const auto saved = context->get_saved_variables();
    const at::Tensor &qkv = saved[0], &probabilities = saved[1];
    const Dims d = dims_of(qkv.size(0), context->saved_data["heads"].toInt(), qkv.size(1), qkv.size(1), qkv.size(2) / 3);
    at::Tensor grad_qkv = at::empty(qkv.sizes(), qkv.options());
    attention_backward(d, split(qkv, d), probabilities, grads[0].contiguous(), split(grad_qkv, d));
    return {grad_qkv, at::Tensor(), at::Tensor()};  // heads and the mask take none
  }

 private:
  static Heads split(const at::Tensor& qkv, const Dims& d) {
    const int64_t width = d.heads * d.head_dim;
    return {head_columns(qkv, d.heads, d.head_dim), head_columns(qkv, d.heads, d.head_dim, width),
            head_columns(qkv, d.heads, d.head_dim, 2 * width)};
  }
};

// q [B, Nq, width]; k and v side by side in kv [B, Nk, 2 * width].
class CrossAttention : public torch::autograd::Function<CrossAttention> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* context, const at::Tensor& q, const at::Tensor& kv,
                            int64_t heads, const c10::optional<at::Tensor>& hidden_keys) {
    const Dims d = dims_of(q.size(0), heads, q.size(1), kv.size(1), q.size(2));
    at::Tensor out = at::empty(q.sizes(), q.options());
    const at::Tensor probabilities = attention_forward(d, split(q, kv, d), hidden_keys, head_columns(out, heads, d.head_dim));
    context->save_for_backward({q, kv, probabilities});
    context->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const auto saved = context->get_saved_variables();
    const at::Tensor &q = saved[0], &kv = saved[1], &probabilities = saved[2];
    const Dims d = dims_of(q.size(0), context->saved_data["heads"].toInt(), q.size(1), kv.size(1), q.size(2));
    at::Tensor grad_q = at::empty(q.sizes(), q.options()), grad_kv = at::empty(kv.sizes(), kv.options());
    attention_backward(d, split(q, kv, d), probabilities, grads[0].contiguous(), split(grad_q, grad_kv, d));
    return {grad_q, grad_kv, at::Tensor(), at::Tensor()};  // heads and the mask take none
  }

 private:
  static Heads split(const at::Tensor& q, const at::Tensor& kv, const Dims& d) {
    return {head_columns(q, d.heads, d.head_dim), head_columns(kv, d.heads, d.head_dim),
            head_columns(kv, d.heads, d.head_dim, d.heads * d.head_dim)};
  }
};

// The positions that may not be attended to, broadcast to [B, heads, Nq, Nk],
// or none when every key may be attended to.
c10::optional<at::Tensor> hidden_keys_of(const at::Tensor& key_mask, int64_t batch, int64_t queries, int64_t keys,
                                         bool causal) {
  c10::optional<at::Tensor> hidden;
  if (key_mask.defined()) {
    if (key_mask.scalar_type() != at::kBool || key_mask.numel() != batch * keys)
      throw Error("cpu_attention: key_mask is " + shape_of(key_mask) + ", expected [B, 1, 1, Nk] bool with B = " +
                  std::to_string(batch) + ", Nk = " + std::to_string(keys));
    // Unpadded batches (most of them) skip a masking pass per layer.
    if (!key_mask.all().item<bool>()) hidden = key_mask.reshape({batch, 1, 1, keys}).logical_not();
  }
  if (causal) {
    const at::Tensor future = at::ones({queries, keys}, at::kBool).triu(1).view({1, 1, queries, keys});
    hidden = hidden ? hidden->logical_or(future) : future;
  }
  return hidden;
}

}  // namespace

bool cpu_attention_applies(const at::Tensor& projected, double dropout_p) {
  return dropout_p == 0.0 && projected.defined() && projected.device().is_cpu() &&
         projected.scalar_type() == at::kFloat && projected.dim() == 3 && projected.stride(2) == 1;
}

at::Tensor cpu_self_attention(const at::Tensor& qkv, int64_t heads, const at::Tensor& key_mask, bool causal) {
  if (!cpu_attention_applies(qkv, 0.0) || heads <= 0 || qkv.size(2) % (3 * heads) != 0)
    throw Error("cpu_attention: qkv is " + shape_of(qkv) + ", expected float32 [B, N, 3 * D] on the CPU with D " +
                "a multiple of " + std::to_string(heads) + " heads");
  return SelfAttention::apply(qkv, heads, hidden_keys_of(key_mask, qkv.size(0), qkv.size(1), qkv.size(1), causal));
}

at::Tensor cpu_cross_attention(const at::Tensor& q, const at::Tensor& kv, int64_t heads, const at::Tensor& key_mask) {
  if (!cpu_attention_applies(q, 0.0) || !cpu_attention_applies(kv, 0.0) || heads <= 0 || q.size(2) % heads != 0 ||
      kv.size(0) != q.size(0) || kv.size(2) != 2 * q.size(2))
    throw Error("cpu_attention: q " + shape_of(q) + " and kv " + shape_of(kv) +
                " are not float32 [B, Nq, D] and [B, Nk, 2 * D] on the CPU with D a multiple of " +
                std::to_string(heads) + " heads");
  return CrossAttention::apply(q, kv, heads, hidden_keys_of(key_mask, q.size(0), q.size(1), kv.size(1), false));
}

}  // namespace cloze
