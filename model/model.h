// A loaded model: the mapped .ember file, what its metadata says, and views
// of its weights. Shared, read-only state: any number of streams (each with
// its own state) may run one Model at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "engine/ember_file.h"
#include "model/config.h"
#include "model/weights.h"

namespace ember {

struct Model {
    EmberFile file;
    ModelMetadata metadata;
    ModelWeights weights;

    const EmformerRnntConfig& config() const { return metadata.config; }
};

// Maps the file and checks everything before returning: format version,
// metadata (every config key present, typed and valid), and every tensor the
// config implies present with its shape and nothing else. Throws ember::Error
// naming the file and the problem.
Model load_model(const std::string& path);
// The same over `size` bytes in memory (copied into an aligned buffer the
// Model owns); `origin` names them in errors. For tests and fuzzing.
Model load_model_from_bytes(const uint8_t* data, size_t size, const std::string& origin);

// The metadata entries ember writes for `metadata` (keys listed in docs/FORMAT.md).
std::vector<std::pair<std::string, MetadataValue>> model_metadata_entries(const ModelMetadata& metadata);
// Decodes and validates them; `origin` names the file in errors.
ModelMetadata decode_model_metadata(const EmberFile& file);

}  // namespace ember
