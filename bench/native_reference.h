// What ember's kernels are measured against, compiled for this CPU
// (-march=native) in native_reference.cpp alone.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember::bench {

// C (M,N) = A (M,K) · W (N,K)^T with Eigen (single-threaded), row-major, tight rows.
void eigen_linear(const float* A, const float* W, float* C, int64_t M, int64_t N, int64_t K);

// A plain streaming read: XOR of every 64-bit word of `bytes` bytes (a
// multiple of 64) at p, vectorised by the compiler. Its rate is the read
// bandwidth small-M GEMM is compared with.
uint64_t read_all(const void* p, size_t bytes);

}  // namespace ember::bench
