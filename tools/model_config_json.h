// The CONFIG.json that `ember convert` takes: the keyword arguments of
// torchaudio.models.emformer_rnnt_model, or {"preset": "base", "num_symbols": N}.
#pragma once

#include <string>

#include "model/config.h"
#include "tools/checkpoint/json.h"

namespace ember {

// Every one of the 21 arguments must be present under torchaudio's name, with
// the right type; unknown keys are an error (they are usually typos).
EmformerRnntConfig config_from_json(const JsonValue& json, const std::string& origin);

}  // namespace ember
