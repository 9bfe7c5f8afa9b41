// libFuzzer target: JSON text (config, global stats), parse_json.
// Success or ember::Error are the only accepted outcomes; any other exception
// (uncaught -> abort), a crash or a sanitizer report is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include "tools/checkpoint/json.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    try {
        ember::JsonValue value = ember::parse_json(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json");
        (void)value;
    } catch (const ember::Error&) {
    }
    return 0;
}
