// cloze's CPU kernels against LibTorch's own: attention (the same values and
// gradients with padding, causal masks, cross-attention and heads read from a
// fused projection) and embedding lookups (the same gradient with repeated
// indices) and cross-entropy (the same loss and gradient); all give the same
// bits with any thread count.
#include <ATen/Functions.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <tuple>
#include <vector>

#include "cloze/model/cpu_attention.h"
#include "cloze/model/cross_entropy.h"
#include "cloze/model/embedding_lookup.h"
#include "cloze/model/transformer.h"

namespace {

// LibTorch's kernel on [B, heads, N, head_dim] views, back to [B, N, D].
at::Tensor reference_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, int64_t heads,
                               const at::Tensor& mask, bool causal) {
  const auto split = [heads](const at::Tensor& x) {
    return x.reshape({x.size(0), x.size(1), heads, x.size(2) / heads}).transpose(1, 2);
  };
  c10::optional<at::Tensor> attn_mask;
  if (mask.defined()) attn_mask = mask;
#if TORCH_VERSION_MAJOR >= 2
  const at::Tensor out = at::scaled_dot_product_attention(split(q), split(k), split(v), attn_mask, 0.0, causal);
#else
  const at::Tensor out =
      std::get<0>(at::_scaled_dot_product_attention(split(q), split(k), split(v), attn_mask, 0.0, false, causal));
#endif
  return out.transpose(1, 2).reshape({q.size(0), q.size(1), q.size(2)});
}

struct Case {
  int64_t batch, queries, keys, width, heads;
  bool padded, causal, cross;
};

// Forward and backward of both kernels, on the fused qkv projection
// (self-attention) or on q and the fused kv (cross-attention), as the model
// hands them over; returns the largest difference of the outputs and of each
// input's gradient.
double largest_difference(const Case& c) {
  at::manual_seed(7);
  const at::Tensor first = at::randn({c.batch, c.queries, (c.cross ? 1 : 3) * c.width});
  const at::Tensor second = at::randn({c.batch, c.keys, 2 * c.width});
  at::Tensor mask;
  if (c.padded) {
    at::Tensor padding = at::zeros({c.batch, c.keys}, at::kBool);
    padding.index_put_({0, at::indexing::Slice(c.keys - 3, at::indexing::None)}, true);
    mask = cloze::key_padding_mask(padding);
  }
  const at::Tensor grad_out = at::randn({c.batch, c.queries, c.width});
  std::vector<at::Tensor> results;
  for (bool ours : {true, false}) {
    const at::Tensor a = first.clone().requires_grad_(true), b = second.clone().requires_grad_(true);
    at::Tensor out;
    if (c.cross) {
      out = ours ? cloze::cpu_cross_attention(a, b, c.heads, mask)
                 : reference_attention(a, b.narrow(2, 0, c.width), b.narrow(2, c.width, c.width), c.heads, mask, false);
    } else {
      out = ours ? cloze::cpu_self_attention(a, c.heads, mask, c.causal)
                 : reference_attention(a.narrow(2, 0, c.width), a.narrow(2, c.width, c.width),
                                       a.narrow(2, 2 * c.width, c.width), c.heads, mask, c.causal);
    }
    out.backward(grad_out);
    results.insert(results.end(), {out.detach(), a.grad(), c.cross ? b.grad() : at::zeros({1})});
  }
  double largest = 0;
  for (std::size_t i = 0; i < 3; ++i) largest = std::max(largest, (results[i] - results[i + 3]).abs().max().item<double>());
  return largest;
}

}  // namespace

TEST_CASE("cpu attention matches LibTorch's values and gradients", "[attention]") {
  const auto [name, c] = GENERATE(table<const char*, Case>({
      {"self-attention", Case{3, 9, 9, 16, 4, false, false, false}},
      {"padded keys", Case{3, 9, 9, 16, 2, true, false, false}},
      {"causal", Case{2, 7, 7, 12, 3, false, true, false}},
      {"cross-attention, more keys than queries", Case{2, 5, 11, 16, 4, true, false, true}},
      {"one head", Case{2, 6, 6, 8, 1, false, false, false}},
  }));
  INFO(name);
  CHECK(largest_difference(c) < 1e-5);
}

TEST_CASE("cpu attention gives the same bits with one thread and with several", "[attention]") {
  at::manual_seed(3);
  const at::Tensor qkv = at::randn({4, 16, 3 * 32});
  const auto run = [&](int threads) {
    at::set_num_threads(threads);
    return cloze::cpu_self_attention(qkv, 4, at::Tensor(), false);
  };
  const at::Tensor one = run(1), several = run(2);
  at::set_num_threads(1);
  CHECK(at::equal(one, several));
}

TEST_CASE("cpu attention refuses what it does not compute", "[attention]") {
  const at::Tensor x = at::randn({2, 4, 24});
  CHECK(cloze::cpu_attention_applies(x, 0.0));
  CHECK_FALSE(cloze::cpu_attention_applies(x, 0.1));                   // attention dropout
  CHECK_FALSE(cloze::cpu_attention_applies(x.to(at::kDouble), 0.0));   // not float32
  CHECK_FALSE(cloze::cpu_attention_applies(x.transpose(1, 2), 0.0));   // rows not contiguous
  CHECK_THROWS_WITH(cloze::cpu_self_attention(x, 5, at::Tensor(), false), Catch::Contains("5 heads"));
  CHECK_THROWS_WITH(cloze::cpu_self_attention(x, 2, at::ones({2, 5}, at::kBool), false), Catch::Contains("key_mask"));
  CHECK_THROWS_WITH(cloze::cpu_cross_attention(x, x, 2, at::Tensor()), Catch::Contains("2 * D"));
}

TEST_CASE("embedding lookups give LibTorch's rows and gradient, the same with any thread count", "[embedding]") {
  at::manual_seed(5);
  const at::Tensor table = at::randn({10, 6});
  const at::Tensor indices = at::randint(10, {4, 9}, at::kLong);  // repeats, as tokens and positions do
  const at::Tensor grad_out = at::randn({4, 9, 6});
  const auto gradient = [&](bool ours, int threads) {
    at::set_num_threads(threads);
    const at::Tensor weight = table.clone().requires_grad_(true);
    const at::Tensor rows = ours ? cloze::embedding_lookup(weight, indices) : at::embedding(weight, indices);
    CHECK(at::equal(rows.detach(), table.index_select(0, indices.reshape({-1})).view({4, 9, 6})));
    rows.backward(grad_out);
    return weight.grad();
  };
  const at::Tensor reference = gradient(false, 1), one = gradient(true, 1), several = gradient(true, 2);
  at::set_num_threads(1);
  CHECK((one - reference).abs().max().item<double>() < 1e-5);
  CHECK(at::equal(one, several));
  // A table that learns nothing (fixed sin-cos positions) takes LibTorch's path.
  CHECK_FALSE(cloze::embedding_lookup(table, indices).requires_grad());
}

TEST_CASE("embedding lookups of one row broadcast over a batch look it up once, with LibTorch's gradient",
          "[embedding]") {
  at::manual_seed(6);
  const at::Tensor table = at::randn({8, 4});
  const at::Tensor shared = at::arange(6, at::kLong).expand({3, 6});  // stride 0, as in-place positions
  const at::Tensor grad_out = at::randn({3, 6, 4});
  const at::Tensor ours = table.clone().requires_grad_(true), reference = table.clone().requires_grad_(true);
  const at::Tensor rows = cloze::embedding_lookup(ours, shared);
  CHECK(rows.stride(0) == 0);  // looked up once, broadcast
  CHECK(at::equal(rows.detach(), at::embedding(table, shared.contiguous())));
  rows.backward(grad_out);
  at::embedding(reference, shared.contiguous()).backward(grad_out);
  CHECK((ours.grad() - reference.grad()).abs().max().item<double>() < 1e-5);
}

TEST_CASE("cross-entropy gives LibTorch's loss and gradient, the same with any thread count", "[cross_entropy]") {
  at::manual_seed(7);
  // Enough rows for several blocks, and logits large enough that an unshifted exp would overflow.
  const at::Tensor logits = at::randn({300, 1000}) * 40.0;
  const at::Tensor targets = at::randint(1000, {300}, at::kLong);
  for (const double upstream : {1.0, -2.5, 0.0}) {
    const auto run = [&](bool ours, int threads) {
      at::set_num_threads(threads);
      const at::Tensor x = logits.clone().requires_grad_(true);
      const at::Tensor loss = ours ? cloze::cross_entropy(x, targets) : at::cross_entropy_loss(x, targets);
      (loss * upstream).backward();
      return std::make_tuple(loss.detach(), x.grad());
    };
    const auto [reference_loss, reference_grad] = run(false, 1);
    const auto [loss, grad] = run(true, 1);
    const auto [loss_several, grad_several] = run(true, 2);
    at::set_num_threads(1);
    CHECK(std::isfinite(loss.item<double>()));
    CHECK(std::abs(loss.item<double>() - reference_loss.item<double>()) < 1e-4 * reference_loss.item<double>());
    CHECK((grad - reference_grad).abs().max().item<double>() < 1e-6);
    CHECK(at::equal(loss, loss_several));
    CHECK(at::equal(grad, grad_several));
  }
  // Logits that learn nothing (evaluation) take LibTorch's path.
  CHECK_FALSE(cloze::cross_entropy(logits, targets).requires_grad());
}
