// A whole file's bytes, read-only: either mmap'd from disk or owned in memory
// (tests, fuzzing). Both are 64-byte aligned at data(), so an aligned file
// offset is an aligned address. Moving a MappedFile keeps data() where it was,
// so pointers into it stay valid across moves.
//
//     ember::MappedFile file("model.ember");     // throws ember::Error
//     const uint8_t* bytes = file.data();        // file.size() of them
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ember {

class MappedFile {
public:
    static constexpr size_t alignment = 64;  // data() is a multiple of this

    MappedFile() = default;  // empty: data() == nullptr, size() == 0

    // Maps the whole file read-only. Throws ember::Error naming the path and the
    // reason (strerror) for a missing or unreadable file, a directory, anything
    // that is not a regular file, and an empty file.
    explicit MappedFile(const std::string& path);

    // Owns an aligned copy of `size` bytes (size may be 0).
    static MappedFile from_bytes(const void* bytes, size_t size);
    static MappedFile from_bytes(const std::vector<uint8_t>& bytes);

    MappedFile(MappedFile&& other) noexcept;
    MappedFile& operator=(MappedFile&& other) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    ~MappedFile();

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    bool is_mapped() const { return kind_ == Kind::mapped; }  // false for owned bytes

private:
    enum class Kind { empty, mapped, owned };
    void release() noexcept;

    Kind kind_ = Kind::empty;
    uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace ember
