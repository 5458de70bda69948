// CPU attention as two kinds of work: one small GEMM per (batch, head) block,
// the blocks shared among the intra-op threads, straight on the heads'
// strided columns; and the masked softmax and its backward over all blocks at
// once, in place, by ATen's vectorised kernels.
#include "cloze/cpu_attention.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <cblas.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <limits>

#include "cloze/error.h"
#include "cloze/shape_text.h"

namespace cloze {

namespace {

// The (batch, head) blocks of a tensor: block (b, h) is a row-major matrix at
// data + b * batch_stride + h * head_stride with rows row_stride apart.
struct Blocks {
  float* data;
  int64_t batch_stride, head_stride, row_stride;
  float* at(int64_t b, int64_t h) const { return data + b * batch_stride + h * head_stride; }
};

// The heads of [B, N, heads * head_dim]: head h is columns h * head_dim onwards.
Blocks head_columns(const at::Tensor& x, int64_t heads) {
  return {x.data_ptr<float>(), x.stride(0), x.size(2) / heads, x.stride(1)};
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

Dims dims_of(const at::Tensor& q, const at::Tensor& k, int64_t heads) {
  const int64_t head_dim = q.size(2) / heads;
  return {q.size(0), heads, q.size(1), k.size(1), head_dim, static_cast<float>(1.0 / std::sqrt(head_dim))};
}

class AttentionFunction : public torch::autograd::Function<AttentionFunction> {
 public:
  // hidden_keys: bool, broadcast to [B, heads, Nq, Nk], true = may not be attended to.
  static at::Tensor forward(torch::autograd::AutogradContext* context, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, int64_t heads, const c10::optional<at::Tensor>& hidden_keys) {
    const Dims d = dims_of(q, k, heads);
    at::Tensor scores = at::empty({d.batch, d.heads, d.queries, d.keys}, q.options());
    blockwise_gemm(d.batch, d.heads, false, true, d.queries, d.keys, d.head_dim, d.scale, head_columns(q, heads),
                   head_columns(k, heads), head_matrices(scores));
    if (hidden_keys) scores.masked_fill_(*hidden_keys, -std::numeric_limits<float>::infinity());
    // In place: the scores are not needed again, and a fresh buffer would be
    // one more allocation per layer and step.
    at::Tensor probabilities = at::_softmax_out(scores, scores, -1, /*half_to_float=*/false);
    at::Tensor out = at::empty({d.batch, d.queries, q.size(2)}, q.options());
    blockwise_gemm(d.batch, d.heads, false, false, d.queries, d.head_dim, d.keys, 1.0f, head_matrices(probabilities),
                   head_columns(v, heads), head_columns(out, heads));
    context->save_for_backward({q, k, v, probabilities});
    context->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const auto saved = context->get_saved_variables();
    const at::Tensor &q = saved[0], &k = saved[1], &v = saved[2], &probabilities = saved[3];
    const int64_t heads = context->saved_data["heads"].toInt();
    const Dims d = dims_of(q, k, heads);
    const at::Tensor grad_out = grads[0].contiguous();  // [B, Nq, D]
    at::Tensor grad_q = at::empty_like(q, at::MemoryFormat::Contiguous);
    at::Tensor grad_k = at::empty_like(k, at::MemoryFormat::Contiguous);
    at::Tensor grad_v = at::empty_like(v, at::MemoryFormat::Contiguous);
    at::Tensor grad_scores = at::empty_like(probabilities);

    // out = P v: dv = P^T dout, dP = dout v^T.
    blockwise_gemm(d.batch, d.heads, true, false, d.keys, d.head_dim, d.queries, 1.0f, head_matrices(probabilities),
                   head_columns(grad_out, heads), head_columns(grad_v, heads));
    blockwise_gemm(d.batch, d.heads, false, true, d.queries, d.keys, d.head_dim, 1.0f, head_columns(grad_out, heads),
                   head_columns(v, heads), head_matrices(grad_scores));
    // dS = P (dP - rowsum(dP P)), in place over dP; hidden keys have P = 0,
    // so their score gradients are 0 too.
    at::_softmax_backward_data_out(grad_scores, grad_scores, probabilities, -1, at::kFloat);
    // scores = scale q k^T: dq = scale dS k, dk = scale dS^T q.
    blockwise_gemm(d.batch, d.heads, false, false, d.queries, d.head_dim, d.keys, d.scale, head_matrices(grad_scores),
                   head_columns(k, heads), head_columns(grad_q, heads));
    blockwise_gemm(d.batch, d.heads, true, false, d.keys, d.head_dim, d.queries, d.scale, head_matrices(grad_scores),
                   head_columns(q, heads), head_columns(grad_k, heads));
    return {grad_q, grad_k, grad_v, at::Tensor(), at::Tensor()};  // heads and the mask take none
  }
};

bool float_cpu_rows(const at::Tensor& x) {
  return x.defined() && x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 3 && x.stride(2) == 1;
}

}  // namespace

bool cpu_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, double dropout_p) {
  return dropout_p == 0.0 && float_cpu_rows(q) && float_cpu_rows(k) && float_cpu_rows(v);
}

at::Tensor cpu_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                         const at::Tensor& key_mask, bool causal) {
  if (!cpu_attention_applies(q, k, v, 0.0))
    throw Error("cpu_attention: needs float32 CPU tensors [B, N, D] with contiguous rows, got q " + shape_of(q) +
                ", k " + shape_of(k) + ", v " + shape_of(v));
  const int64_t batch = q.size(0), queries = q.size(1), keys = k.size(1), width = q.size(2);
  if (heads <= 0 || width % heads != 0 || k.size(0) != batch || v.size(0) != batch || v.size(1) != keys ||
      k.size(2) != width || v.size(2) != width)
    throw Error("cpu_attention: q " + shape_of(q) + ", k " + shape_of(k) + " and v " + shape_of(v) +
                " do not make " + std::to_string(heads) + " heads over the same batch and keys");
  // Positions that may not be attended to, [B or 1, 1, Nq or 1, Nk].
  c10::optional<at::Tensor> hidden_keys;
  if (key_mask.defined()) {
    if (key_mask.scalar_type() != at::kBool || key_mask.numel() != batch * keys)
      throw Error("cpu_attention: key_mask is " + shape_of(key_mask) + ", expected [B, 1, 1, Nk] bool with B = " +
                  std::to_string(batch) + ", Nk = " + std::to_string(keys));
    hidden_keys = key_mask.reshape({batch, 1, 1, keys}).logical_not();
  }
  if (causal) {
    const at::Tensor future =
        at::ones({queries, keys}, q.options().dtype(at::kBool)).triu(1).view({1, 1, queries, keys});
    hidden_keys = hidden_keys ? hidden_keys->logical_or(future) : future;
  }
  return AttentionFunction::apply(q, k, v, heads, hidden_keys);
}

}  // namespace cloze
