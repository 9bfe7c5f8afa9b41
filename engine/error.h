// Errors in ember's library code are exceptions that carry their context
// (file, tensor, expected vs got). Library code never prints or exits; only
// tools/ turns an Error into a message and an exit code.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ember {

struct Error : std::runtime_error {
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Builds a message from any streamable parts: fail("tensor ", name, ": got ", n).
template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
    std::ostringstream message;
    (message << ... << std::forward<Parts>(parts));
    throw Error(message.str());
}

// An always-on invariant check (not compiled out in release builds).
#define EMBER_CHECK(condition, ...)                 \
    do {                                            \
        if (!(condition)) ::ember::fail(__VA_ARGS__); \
    } while (0)

}  // namespace ember
