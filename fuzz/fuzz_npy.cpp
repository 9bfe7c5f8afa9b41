// libFuzzer target: a NumPy .npy file, parse_npy.
// Success or ember::Error are the only accepted outcomes; any other exception
// (uncaught -> abort), a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include "engine/npy.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        ember::NpyArray array = ember::parse_npy(data, size, "fuzz.npy");
        (void)array;
    } catch (const ember::Error&) {
    }
    return 0;
}
