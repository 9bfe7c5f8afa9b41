#include "tools/eval/manifest.h"

#include <fstream>

#include "engine/error.h"

namespace ember::eval {

std::vector<ManifestEntry> read_manifest(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path + ": cannot open");
    const size_t slash = path.rfind('/');
    const std::string directory = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::vector<ManifestEntry> entries;
    std::string line;
    for (int64_t number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        const size_t tab = line.find('\t');
        const std::string where = path + ":" + std::to_string(number);
        if (tab == std::string::npos) fail(where + ": expected 'path<TAB>reference text'");
        if (tab == 0) fail(where + ": empty audio path");
        ManifestEntry entry;
        entry.path = line.substr(0, tab);
        if (entry.path[0] != '/') entry.path = directory + entry.path;
        entry.reference = line.substr(tab + 1);
        entry.line = number;
        entries.push_back(std::move(entry));
    }
    if (in.bad()) fail(path + ": read error");
    if (entries.empty()) fail(path + ": no utterances listed");
    return entries;
}

}  // namespace ember::eval
