// The zip container of a PyTorch checkpoint: locates each entry's bytes in a
// buffer the caller keeps alive. Only what torch.save writes is supported:
// one disk, stored (uncompressed) entries, zip64 records.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ember {

struct ZipEntry {
    std::string name;
    uint16_t method = 0;       // 0 = stored; anything else is refused on read
    uint64_t data_offset = 0;  // first byte of the entry's data in the archive
    uint64_t compressed_size = 0;
    uint64_t size = 0;  // uncompressed
    uint32_t crc32 = 0;
};

class ZipArchive {
public:
    // Reads the end-of-central-directory records, the central directory and
    // every local header. Throws ember::Error naming `origin` on anything
    // malformed or outside the buffer.
    ZipArchive(const uint8_t* data, size_t size, std::string origin);

    const std::vector<ZipEntry>& entries() const { return entries_; }
    const ZipEntry* find(const std::string& name) const;  // nullptr when absent

    // The entry's bytes (entry.size of them), after checking its CRC-32.
    // Throws for compressed or corrupted entries.
    const uint8_t* read(const ZipEntry& entry) const;

private:
    const uint8_t* data_;
    size_t size_;
    std::string origin_;
    std::vector<ZipEntry> entries_;
    std::map<std::string, size_t> index_;  // name -> position in entries_
};

}  // namespace ember
