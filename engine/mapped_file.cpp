#include "engine/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <utility>

#include "engine/error.h"

namespace ember {
namespace {

// Closes a descriptor on every path out of the constructor; the mapping
// outlives it.
struct FileDescriptor {
    int fd;
    ~FileDescriptor() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

MappedFile::MappedFile(const std::string& path) {
    // O_NONBLOCK so that opening a FIFO by mistake does not hang; it has no
    // effect on regular files.
    FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK)};
    if (file.fd < 0) fail(path, ": cannot open: ", std::strerror(errno));

    struct stat info {};
    if (::fstat(file.fd, &info) != 0) fail(path, ": cannot stat: ", std::strerror(errno));
    if (S_ISDIR(info.st_mode)) fail(path, ": cannot map: ", std::strerror(EISDIR));
    if (!S_ISREG(info.st_mode)) fail(path, ": cannot map: not a regular file");
    if (info.st_size == 0) fail(path, ": file is empty");
    if (static_cast<uint64_t>(info.st_size) > std::numeric_limits<size_t>::max())
        fail(path, ": file is too large to map (", info.st_size, " bytes)");

    const size_t size = static_cast<size_t>(info.st_size);
    void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
    if (mapping == MAP_FAILED) fail(path, ": cannot map ", size, " bytes: ", std::strerror(errno));
    // The loader reads every weight soon after opening: start reading ahead now.
    // Advice only; a failure changes nothing.
    ::madvise(mapping, size, MADV_WILLNEED);

    kind_ = Kind::mapped;
    data_ = static_cast<uint8_t*>(mapping);
    size_ = size;
}

MappedFile MappedFile::from_bytes(const void* bytes, size_t size) {
    MappedFile owned;
    if (size == 0) return owned;
    owned.data_ = static_cast<uint8_t*>(::operator new (size, std::align_val_t{alignment}));
    std::memcpy(owned.data_, bytes, size);
    owned.size_ = size;
    owned.kind_ = Kind::owned;
    return owned;
}

MappedFile MappedFile::from_bytes(const std::vector<uint8_t>& bytes) { return from_bytes(bytes.data(), bytes.size()); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : kind_(std::exchange(other.kind_, Kind::empty)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
    if (this != &other) {
        release();
        kind_ = std::exchange(other.kind_, Kind::empty);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
    }
    return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() noexcept {
    if (kind_ == Kind::mapped) ::munmap(data_, size_);
    if (kind_ == Kind::owned) ::operator delete (data_, std::align_val_t{alignment});
    kind_ = Kind::empty;
    data_ = nullptr;
    size_ = 0;
}

}  // namespace ember
