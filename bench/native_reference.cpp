#include "bench/native_reference.h"

#include <Eigen/Core>

namespace ember::bench {

void eigen_linear(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K) {
    using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
    const Eigen::Map<const RowMajor> a(A, M, K), w(W, N, K);
    Eigen::Map<RowMajor> c(C, M, N);
    c.noalias() = a * w.transpose();
}

uint64_t read_all(const void* p, size_t bytes) {
    const uint64_t* words = static_cast<const uint64_t*>(p);
    const size_t n = bytes / sizeof(uint64_t);
    // Eight independent lanes keep several loads in flight; XOR is associative,
    // so -O3 turns each lane into vector loads.
    uint64_t lane[8] = {};
    for (size_t i = 0; i < n; i += 8)
        for (size_t j = 0; j < 8; ++j) lane[j] ^= words[i + j];
    uint64_t x = 0;
    for (uint64_t v : lane) x ^= v;
    return x;
}

}  // namespace ember::bench
