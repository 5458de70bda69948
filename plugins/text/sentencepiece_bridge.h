// The sentencepiece bridge: a small library of its own, loaded with
// RTLD_DEEPBIND, through which the plugin reaches sentencepiece.
//
// Why: Debian's libsentencepiece carries and exports its own copy of protobuf
// (3.14), while LibTorch has already loaded the system's libprotobuf (3.21)
// into the process. Linked normally, sentencepiece's protobuf calls bind to the
// system copy and the process aborts ("This program was compiled against
// version 3.14.0 of the Protocol Buffer runtime library..."). Deep binding makes
// sentencepiece use its own copy. Only this bridge links sentencepiece.
//
// The bridge (cloze_text_sentencepiece.so, no "lib" prefix so the registry does
// not take it for a plugin) sits next to libcloze_text.so.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer.h"

extern "C" {

// Each throws cloze::Error saying what went wrong.
using ClozeTextLoadSentencepiece = cloze::text::Tokenizer* (*)(const char* model);
// `sentinels`: user-defined pieces <extra_id_0> ... <extra_id_{sentinels-1}>
// right after [MASK].
using ClozeTextTrainSentencepiece = void (*)(const std::vector<std::string>& lines, int64_t vocab_size,
                                             int64_t sentinels, std::string& model);

cloze::text::Tokenizer* cloze_text_load_sentencepiece(const char* model);
void cloze_text_train_sentencepiece(const std::vector<std::string>& lines, int64_t vocab_size, int64_t sentinels,
                                    std::string& model);
}

namespace cloze::text {

struct SentencepieceBridge {
  ClozeTextLoadSentencepiece load;
  ClozeTextTrainSentencepiece train;
};

// Loads the bridge once per process; throws cloze::Error naming its path if it
// cannot.
const SentencepieceBridge& sentencepiece_bridge();

}  // namespace cloze::text
