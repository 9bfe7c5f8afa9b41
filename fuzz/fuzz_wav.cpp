// libFuzzer target: a WAV file (RIFF/WAVE, RF64), parse_wav.
// Success or ember::Error are the only accepted outcomes; any other exception
// (uncaught -> abort), a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include "engine/wav.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        ember::Audio audio = ember::parse_wav(data, size, "fuzz.wav");
        (void)audio;
    } catch (const ember::Error&) {
    }
    return 0;
}
