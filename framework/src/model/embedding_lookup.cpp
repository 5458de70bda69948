#include "cloze/model/embedding_lookup.h"

#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <vector>

namespace cloze {

namespace {

class EmbeddingLookup : public torch::autograd::Function<EmbeddingLookup> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* context, const at::Tensor& weight,
                            const at::Tensor& indices) {
    context->save_for_backward({indices});
    context->saved_data["rows"] = weight.size(0);
    return at::embedding(weight, indices);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* context,
                                                 torch::autograd::variable_list grads) {
    const at::Tensor indices = context->get_saved_variables()[0].reshape({-1}).contiguous();
    const int64_t rows = context->saved_data["rows"].toInt();
    const at::Tensor grad = grads[0].reshape({indices.numel(), -1}).contiguous();  // [M, D]
    const int64_t width = grad.size(1), count = indices.numel();
    at::Tensor grad_weight = at::zeros({rows, width}, grad.options());
    const int64_t* index = indices.data_ptr<int64_t>();
    const float* source = grad.data_ptr<float>();
    float* target = grad_weight.data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t first_row, int64_t end_row) {
      for (int64_t i = 0; i < count; ++i) {
        const int64_t row = index[i];
        if (row < first_row || row >= end_row) continue;
        float* out = target + row * width;
        const float* in = source + i * width;
        for (int64_t j = 0; j < width; ++j) out[j] += in[j];
      }
    });
    return {grad_weight, at::Tensor()};
  }
};

}  // namespace

at::Tensor embedding_lookup(const at::Tensor& weight, const at::Tensor& indices) {
  // Rows that are one row broadcast (stride 0, as in-place positions): look it
  // up once and broadcast the result, so backward sums over the copies
  // instead of adding every copy into the table.
  if (indices.dim() >= 2 && indices.stride(0) == 0 && indices.size(0) > 1) {
    const at::Tensor once = embedding_lookup(weight, indices.select(0, 0));
    std::vector<int64_t> sizes = indices.sizes().vec();
    sizes.push_back(weight.size(1));
    return once.unsqueeze(0).expand(sizes);
  }
  if (!weight.device().is_cpu() || weight.scalar_type() != at::kFloat || weight.dim() != 2 ||
      indices.scalar_type() != at::kLong || !weight.requires_grad())
    return at::embedding(weight, indices);
  return EmbeddingLookup::apply(weight, indices);
}

}  // namespace cloze
