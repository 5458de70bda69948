// What every cloze fuzz target shares: the rule that a bad input may only be
// refused with cloze::Error, a place to write inputs for readers that take a
// path, and one registry with the shipped plugins.
//
// A fuzz target is one LLVMFuzzerTestOneInput built with
// -fsanitize=fuzzer,address,undefined (see tests/fuzz/CMakeLists.txt); ASan and
// UBSan turn memory errors and undefined behaviour into crashes, and
// refuse_only_with_cloze_errors below turns any other exception into one.
#pragma once

#include <ATen/Parallel.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <typeinfo>
#include <unistd.h>

#include "cloze/core/error.h"
#include "cloze/core/registry.h"

namespace cloze::fuzz {

// Runs `body`. cloze::Error is how cloze refuses a bad input, so it passes;
// any other exception (std::bad_alloc, c10::Error, cv::Exception, ...) escaped
// a reader or a plugin that promises cloze::Error, so it aborts with its type
// and message and libFuzzer saves the input that caused it.
template <typename Body>
void refuse_only_with_cloze_errors(Body&& body) {
  try {
    body();
  } catch (const cloze::Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: uncaught %s (not cloze::Error): %s\n", typeid(e).name(), e.what());
    std::abort();
  }
}

// A folder of its own for this process, so parallel fuzzers (-jobs=N) never
// share files; removed at exit.
inline const std::filesystem::path& scratch_folder() {
  static const std::filesystem::path folder = [] {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("cloze-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_folder(), ignored);
    });
    return path;
  }();
  return folder;
}

// Writes `data` to `path`, for readers that only take a path.
inline void write_file(const std::filesystem::path& path, const uint8_t* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

// The build tree's plugins, loaded once per process: loading is slow and a
// registry is never changed by what the targets call.
inline Registry& shipped_plugins() {
  static Registry* registry = [] {
    auto* loaded = new Registry;  // never freed: plugins stay loaded until exit
    loaded->load_default_plugins();
    return loaded;
  }();
  return *registry;
}

// LibTorch's intra-op pool would only add threads for ASan to track; inputs
// are small.
inline void use_one_thread() {
  static const bool once = [] {
    at::set_num_threads(1);
    return true;
  }();
  (void)once;
}

}  // namespace cloze::fuzz
