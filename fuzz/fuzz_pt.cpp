// libFuzzer target: a torch.save .pt file (zip reader + pickle reader), read_torch_checkpoint_bytes.
// Success or ember::Error are the only accepted outcomes; any other exception
// (uncaught -> abort), a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include "tools/checkpoint/torch_checkpoint.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        auto tensors = ember::read_torch_checkpoint_bytes(data, size, "fuzz.pt");
        (void)tensors;
    } catch (const ember::Error&) {
    }
    return 0;
}
