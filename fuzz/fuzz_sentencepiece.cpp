// libFuzzer target: a SentencePiece .model protobuf, parse_sentencepiece_model.
// Success or ember::Error are the only accepted outcomes; any other exception
// (uncaught -> abort), a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include "tools/checkpoint/sentencepiece_model.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto vocabulary = ember::parse_sentencepiece_model(data, size, "fuzz.model");
        (void)vocabulary;
    } catch (const ember::Error&) {
    }
    return 0;
}
