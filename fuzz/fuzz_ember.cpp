// libFuzzer target: the .ember container (parse_ember_file) and the model-level
// checks on top of it (decode_model_metadata, tensor list and shapes, weight
// binding), through load_model_from_bytes.
// Success or ember::Error are the only accepted outcomes; any other exception
// (uncaught -> abort), a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include "model/model.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        ember::Model model = ember::load_model_from_bytes(data, size, "fuzz.ember");
        (void)model;
    } catch (const ember::Error&) {
    }
    return 0;
}
