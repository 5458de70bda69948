#include "cloze/inspect/dump.h"

#include <ATen/core/Tensor.h>

namespace cloze {

TensorMap dump_corrupted_batches(const Pipeline& pipeline, int64_t batches, int64_t batch_size) {
  auto loader = pipeline.loader(Split::train, batch_size);
  TensorMap tensors;
  for (int64_t b = 0; b < batches; ++b) {
    const LoadedBatch item = loader->next();
    const std::string prefix = std::to_string(b) + ".";
    const std::pair<const char*, const at::Tensor*> fields[] = {
        {"units", &item.batch.units},
        {"padding", &item.batch.padding},
        {"input", &item.corrupted.input},
        {"input_positions", &item.corrupted.input_positions},
        {"input_padding", &item.corrupted.input_padding},
        {"target", &item.corrupted.target},
        {"loss_mask", &item.corrupted.loss_mask},
        {"decoder_input", &item.corrupted.decoder_input},
        {"input_masked", &item.corrupted.input_masked},
        {"target_padding", &item.corrupted.target_padding},
        {"entry", &item.corrupted.entry},
    };
    for (const auto& [name, tensor] : fields)
      if (tensor->defined()) tensors[prefix + name] = *tensor;
  }
  return tensors;
}

}  // namespace cloze
