#include "tools/checkpoint/zip_reader.h"

#include <array>
#include <utility>

#include "engine/error.h"
#include "tools/checkpoint/little_endian.h"

namespace ember {
namespace {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralEntrySignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kZip64EndSignature = 0x06064b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralEntrySize = 46;
constexpr size_t kEndSize = 22;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kMaxCommentSize = 0xFFFF;
constexpr uint16_t kZip64ExtraId = 0x0001;

// CRC-32 (IEEE, reflected polynomial 0xEDB88320), eight bytes per step: table
// k gives the CRC contribution of a byte followed by k zero bytes, so eight
// lookups replace eight dependent shift-and-lookup rounds.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;

CrcTables make_crc_tables() {
    CrcTables tables{};
    for (uint32_t byte = 0; byte < 256; ++byte) {
        uint32_t crc = byte;
        for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        tables[0][byte] = crc;
    }
    for (size_t k = 1; k < 8; ++k)
        for (size_t byte = 0; byte < 256; ++byte)
            tables[k][byte] = (tables[k - 1][byte] >> 8) ^ tables[0][tables[k - 1][byte] & 0xFF];
    return tables;
}

uint32_t crc32(const uint8_t* p, uint64_t n) {
    static const CrcTables t = make_crc_tables();
    uint32_t crc = 0xFFFFFFFFu;
    for (; n >= 8; p += 8, n -= 8) {
        const uint32_t lo = crc ^ le::u32(p);
        const uint32_t hi = le::u32(p + 4);
        crc = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
              t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    }
    for (; n > 0; ++p, --n) crc = (crc >> 8) ^ t[0][(crc ^ *p) & 0xFF];
    return ~crc;
}

// Where the central directory is, from the (zip64) end-of-central-directory records.
struct Directory {
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t count = 0;
};

// The end record sits in the last 22 + 65535 bytes (a comment may follow it);
// the last signature whose comment length reaches exactly to the end wins.
uint64_t find_end_record(const uint8_t* data, size_t size, const std::string& origin) {
    if (size < kEndSize) fail(origin, ": too short to be a zip archive (", size, " bytes)");
    const size_t lowest = size - kEndSize > kMaxCommentSize ? size - kEndSize - kMaxCommentSize : 0;
    for (size_t pos = size - kEndSize + 1; pos-- > lowest;) {
        if (le::u32(data + pos) == kEndSignature && pos + kEndSize + le::u16(data + pos + 20) == size)
            return pos;
    }
    fail(origin, ": no zip end-of-central-directory record (not a zip archive, or truncated)");
}

Directory read_directory_location(const uint8_t* data, size_t size, const std::string& origin) {
    const uint64_t end = find_end_record(data, size, origin);
    const uint8_t* record = data + end;
    if (le::u16(record + 4) != 0 || le::u16(record + 6) != 0)
        fail(origin, ": multi-disk zip archives are not supported");
    Directory directory{le::u32(record + 16), le::u32(record + 12), le::u16(record + 10)};

    const bool has_locator =
        end >= kZip64LocatorSize && le::u32(data + end - kZip64LocatorSize) == kZip64LocatorSignature;
    if (has_locator) {
        const uint64_t zip64_end = le::u64(data + end - kZip64LocatorSize + 8);
        if (!le::fits(zip64_end, kZip64EndSize, end - kZip64LocatorSize))
            fail(origin, ": zip64 end-of-central-directory locator points past its own position");
        const uint8_t* record64 = data + zip64_end;
        if (le::u32(record64) != kZip64EndSignature)
            fail(origin, ": zip64 end-of-central-directory record has a bad signature");
        if (le::u32(record64 + 16) != 0 || le::u32(record64 + 20) != 0)
            fail(origin, ": multi-disk zip archives are not supported");
        directory = {le::u64(record64 + 48), le::u64(record64 + 40), le::u64(record64 + 32)};
    } else if (directory.offset == 0xFFFFFFFFu || directory.size == 0xFFFFFFFFu ||
               directory.count == 0xFFFF) {
        fail(origin, ": zip end record needs zip64 values but there is no zip64 locator");
    }
    if (!le::fits(directory.offset, directory.size, end))
        fail(origin, ": zip central directory (offset ", directory.offset, ", ", directory.size,
             " bytes) lies outside the file");
    if (directory.count > directory.size / kCentralEntrySize)
        fail(origin, ": zip central directory claims ", directory.count, " entries in ", directory.size,
             " bytes");
    return directory;
}

// Replaces the 32-bit sizes/offset that are saturated (0xFFFFFFFF) with the
// 64-bit values of the zip64 extra field, which holds them in this order.
void apply_zip64_extra(const uint8_t* extra, size_t extra_size, ZipEntry& entry, uint64_t& local_offset,
                       const std::string& where) {
    size_t pos = 0;
    while (pos + 4 <= extra_size) {
        const uint16_t id = le::u16(extra + pos);
        const uint16_t length = le::u16(extra + pos + 2);
        pos += 4;
        if (length > extra_size - pos) fail(where, " has an extra field running past its end");
        if (id == kZip64ExtraId) {
            size_t field = 0;
            for (uint64_t* value : {&entry.size, &entry.compressed_size, &local_offset}) {
                if (*value != 0xFFFFFFFFu) continue;
                if (field + 8 > length) fail(where, " has a zip64 extra field too short for its values");
                *value = le::u64(extra + pos + field);
                field += 8;
            }
        }
        pos += length;
    }
}

}  // namespace

ZipArchive::ZipArchive(const uint8_t* data, size_t size, std::string origin)
    : data_(data), size_(size), origin_(std::move(origin)) {
    const Directory directory = read_directory_location(data_, size_, origin_);
    entries_.reserve(directory.count);
    uint64_t pos = directory.offset;
    const uint64_t directory_end = directory.offset + directory.size;
    for (uint64_t i = 0; i < directory.count; ++i) {
        const std::string where = origin_ + ": zip central directory entry " + std::to_string(i);
        if (!le::fits(pos, kCentralEntrySize, directory_end)) fail(where, " runs past the directory's end");
        const uint8_t* header = data_ + pos;
        if (le::u32(header) != kCentralEntrySignature) fail(where, " has a bad signature");
        const uint16_t flags = le::u16(header + 8);
        const uint16_t name_size = le::u16(header + 28);
        const uint16_t extra_size = le::u16(header + 30);
        const uint16_t comment_size = le::u16(header + 32);
        const uint64_t record_size = kCentralEntrySize + uint64_t{name_size} + extra_size + comment_size;
        if (!le::fits(pos, record_size, directory_end)) fail(where, " runs past the directory's end");

        ZipEntry entry;
        entry.name.assign(reinterpret_cast<const char*>(header + kCentralEntrySize), name_size);
        entry.method = le::u16(header + 10);
        entry.crc32 = le::u32(header + 16);
        entry.compressed_size = le::u32(header + 20);
        entry.size = le::u32(header + 24);
        uint64_t local_offset = le::u32(header + 42);
        const std::string named = where + " (" + entry.name + ")";
        apply_zip64_extra(header + kCentralEntrySize + name_size, extra_size, entry, local_offset, named);
        if (flags & 1u) fail(named, " is encrypted");

        // The local header's own name and extra lengths decide where the data
        // starts; its sizes may be zero (data descriptor), so they are ignored.
        if (!le::fits(local_offset, kLocalHeaderSize, size_)) fail(named, " points past the end of the file");
        const uint8_t* local = data_ + local_offset;
        if (le::u32(local) != kLocalHeaderSignature) fail(named, " points at a bad local header signature");
        entry.data_offset = local_offset + kLocalHeaderSize + le::u16(local + 26) + le::u16(local + 28);
        if (!le::fits(entry.data_offset, entry.compressed_size, size_))
            fail(named, " has data (", entry.compressed_size, " bytes at offset ", entry.data_offset,
                 ") past the end of the file");

        if (!index_.emplace(entry.name, entries_.size()).second)
            fail(origin_, ": zip archive holds two entries named ", entry.name);
        entries_.push_back(std::move(entry));
        pos += record_size;
    }
}

const ZipEntry* ZipArchive::find(const std::string& name) const {
    const auto found = index_.find(name);
    return found == index_.end() ? nullptr : &entries_[found->second];
}

const uint8_t* ZipArchive::read(const ZipEntry& entry) const {
    if (entry.method != 0)
        fail(origin_, ": zip entry ", entry.name, " is compressed (method ", entry.method,
             "); only stored entries, as torch.save writes them, are supported");
    if (entry.compressed_size != entry.size)
        fail(origin_, ": zip entry ", entry.name, " is stored but its sizes differ (", entry.compressed_size,
             " vs ", entry.size, ")");
    const uint8_t* bytes = data_ + entry.data_offset;
    if (crc32(bytes, entry.size) != entry.crc32)
        fail(origin_, ": zip entry ", entry.name, " is corrupted (CRC-32 mismatch)");
    return bytes;
}

}  // namespace ember
