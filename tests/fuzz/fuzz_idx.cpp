// Fuzzes the image plugin's IDX reader, read_idx_folder. The input, split by
// FuzzedDataProvider, is
//   [images file, backslash-escaped, ended by '\' and another byte]
//   [labels file: the rest, less the last byte]
//   [flags: the last byte]
// and both splits (train-*, t10k-*) get the same two files. Flags bit 0: name
// them *.gz (gzread reads plain files too; the corpus holds gzipped ones);
// bits 1-2: image_size 0, 28, 7 or 32; bit 3: 3 channels instead of 1; bit 4:
// call the folder fashion-mnist (class names from the list).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cloze::fuzz::use_one_thread();
  FuzzedDataProvider input(data, size);
  const auto flags = input.ConsumeIntegral<uint8_t>();
  const std::string images = input.ConsumeRandomLengthString();
  const std::vector<uint8_t> labels = input.ConsumeRemainingBytes<uint8_t>();

  const std::filesystem::path folder = cloze::fuzz::scratch_folder() / (flags & 16 ? "fashion-mnist" : "digits");
  std::filesystem::remove_all(folder);  // the other naming's files from an earlier input
  std::filesystem::create_directories(folder);
  const std::string suffix = flags & 1 ? ".gz" : "";
  for (const std::string split : {"train", "t10k"}) {
    cloze::fuzz::write_file(folder / (split + "-images-idx3-ubyte" + suffix),
                            reinterpret_cast<const uint8_t*>(images.data()), images.size());
    cloze::fuzz::write_file(folder / (split + "-labels-idx1-ubyte" + suffix), labels.data(), labels.size());
  }
  cloze::image::DecodeOptions options;
  options.image_size = std::vector<int64_t>{0, 28, 7, 32}[(flags >> 1) & 3];
  options.channels = flags & 8 ? 3 : 1;
  cloze::fuzz::refuse_only_with_cloze_errors([&] { cloze::image::read_idx_folder(folder, options); });
  return 0;
}
