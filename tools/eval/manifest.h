// The evaluation list `ember eval` reads: one utterance per line,
// "path<TAB>reference text". Paths are taken relative to the list's directory
// unless absolute; blank lines are skipped.
#pragma once

#include <string>
#include <vector>

namespace ember::eval {

struct ManifestEntry {
    std::string path;       // resolved
    std::string reference;
    int64_t line = 0;       // 1-based, for messages
};

// Throws ember::Error naming the file and line of a malformed entry
// (no tab, empty path), or when the list has no entries.
std::vector<ManifestEntry> read_manifest(const std::string& path);

}  // namespace ember::eval
