// Fuzzes load_safetensors: the input is the file. A malformed header, offset,
// shape or dtype must be refused with cloze::Error naming the file.
#include <cstddef>
#include <cstdint>

#include "cloze/io/safetensors.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cloze::fuzz::use_one_thread();
  const std::filesystem::path path = cloze::fuzz::scratch_folder() / "input.safetensors";
  cloze::fuzz::write_file(path, data, size);
  cloze::fuzz::refuse_only_with_cloze_errors([&] { cloze::load_safetensors(path); });
  return 0;
}
