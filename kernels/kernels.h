// The numeric kernels ember's ops are built on. This layer knows nothing of
// the model: plain pointers, sizes and strides, row-major float32.
//
// Every kernel has a scalar reference twin in namespace ember::kernels::ref
// with the same signature; tests compare the dispatched version against it
// for every ISA the machine supports.
#pragma once

#include <cstdint>

namespace ember::kernels {

// Instruction sets a kernel can be compiled for. `generic` runs on any x86-64
// (SSE2) and on other architectures through xsimd's fallback.
enum class Isa { generic, avx2, avx512 };

// The best ISA this CPU supports, unless the environment variable
// EMBER_ISA=generic|avx2|avx512 asks for another (a request for an ISA the CPU
// lacks falls back to the best available one).
Isa active_isa();
// Forces the ISA used by every dispatched kernel (tests use this to sweep).
void set_isa(Isa isa);
// True when this CPU can run kernels compiled for `isa`.
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);

// Threads a kernel call may use (default 1: the caller only). linear splits
// its output columns across them when the product is large enough; results
// are bit-identical whatever the count.
void set_num_threads(int threads);
int num_threads();

// The activations of the model, elementwise (none: the identity).
enum class Activation { none, relu, gelu, silu, tanh };

// What a linear does to each output after its sum over k and the bias, in
// this order: x scale, the activation, + residual (m, n). Fused into the
// GEMM's store, it gives the same bits as the separate passes (multiply, the
// activation kernel, add) without another trip over C. The residual (M, N),
// rows ld_residual apart, must not alias C.
struct LinearEpilogue {
    float scale = 1.0f;
    Activation activation = Activation::none;
    const float* residual = nullptr;
    int64_t ld_residual = 0;
};

// Whether the epilogue changes anything (else the kernels skip it).
inline bool has_effect(const LinearEpilogue& e) {
    return e.scale != 1.0f || e.activation != Activation::none || e.residual;
}

// C (M,N) = A (M,K) · W (N,K)^T + bias (N)      -- torch.nn.Linear, y = x W^T + b
// A rows are lda floats apart, W rows ldw apart, C rows ldc apart.
// bias may be null. C must not alias A or W.
void linear(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
            float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue = {});

// Linear weights W (N,K) pre-packed for linear_packed: ceil(N / 16) panels of
// 16 output columns; panel j holds K rows of 16 floats, so element (n, k) of W
// is at packed[(n / 16) * K * 16 + k * 16 + n % 16], and the columns past N in
// the last panel are zeros. This is the .ember file's f32_panels16 layout
// (docs/FORMAT.md): converted models store their weights so, and use them in
// place. One layout for every ISA: a panel is one AVX-512 vector, two AVX2
// ones, four SSE/NEON ones.
constexpr int64_t kPanelWidth = 16;
int64_t packed_linear_floats(int64_t N, int64_t K);
void pack_linear_weights(const float* W, int64_t ldw, int64_t N, int64_t K, float* packed);

// linear with W packed: C (M,N) = A (M,K) · W^T + bias (N). Each output is
// summed over k in order from 0 to K-1, then the bias added, whatever M, the
// row's place in A, the thread count or the blocking: a row of C has the
// same bits however many other rows are computed with it (batching and the
// beam search rely on it).
void linear_packed(const float* A, int64_t lda, const float* packed_W, const float* bias, float* C,
                   int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue = {});

// One run of consecutive keys of an attention and their values: key j at
// key + j * ld_key, its value at value + j * ld_value (all heads side by side).
struct KeyValueRows {
    const float* key;
    const float* value;
    int64_t ld_key, ld_value, rows;
};

// Multi-head attention, one pass per head over every query row:
// out (nq, num_heads * head_dim) = per head h, softmax(q_h k_h^T) v_h over the
// keys of every block in order (masked keys are simply left out of the
// blocks), read where they lie. query rows ldq apart, already scaled; out
// rows ldo apart, not aliasing the query, keys or values. scores: scratch of
// nq x (all keys) floats; there must be at least one key.
void attention(const float* query, int64_t ldq, int64_t nq, const KeyValueRows* blocks, int64_t num_blocks,
               int64_t num_heads, int64_t head_dim, float* scores, float* out, int64_t ldo);

// y (rows,dim) = (x - mean) / sqrt(var + eps) * gamma + beta, per row, as
// torch.nn.LayerNorm (biased variance). x and y may be the same buffer.
void layer_norm(const float* x, int64_t ldx, const float* gamma, const float* beta, float eps,
                float* y, int64_t ldy, int64_t rows, int64_t dim);

// y (rows,dim) += x, then out = LayerNorm(y) (as layer_norm), a row at a
// time: the residual connection and the norm after it in one pass, y kept
// for the next residual. out may alias y (not x).
void residual_layer_norm(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                         const float* beta, float eps, float* out, int64_t ldout, int64_t rows, int64_t dim);

// In-place elementwise activations over n floats.
void relu(float* x, int64_t n);
void gelu(float* x, int64_t n);  // exact erf form: x * 0.5 * (1 + erf(x / sqrt(2)))
void silu(float* x, int64_t n);  // x * sigmoid(x)
void tanh(float* x, int64_t n);
void sigmoid(float* x, int64_t n);

// In-place softmax of each row of x (rows,cols), rows ldx apart.
void softmax(float* x, int64_t ldx, int64_t rows, int64_t cols);

// In-place log_softmax of each row of x (rows,cols), rows ldx apart.
void log_softmax(float* x, int64_t ldx, int64_t rows, int64_t cols);

// y[i] += x[i] over n floats (residual connections).
void add(const float* x, float* y, int64_t n);

// One step of torchaudio's _CustomLSTM (models/rnnt.py) for `rows` rows,
// given gates (rows, 4H) = x W_x^T (+ b_x) + h W_h^T, consumed as scratch:
// g_norm over the 4H gates when its weights are given; i, f, g, o =
// sigmoid, sigmoid, tanh, sigmoid of the four H-wide blocks; c = f*c + i*g;
// c_norm over c when given; h = o * tanh(c). c and h are updated in place.
void lstm_cell(float* gates, int64_t ld_gates, const float* g_norm_weight, const float* g_norm_bias,
               const float* c_norm_weight, const float* c_norm_bias, float eps, float* c, int64_t ldc,
               float* h, int64_t ldh, int64_t rows, int64_t hidden);

namespace ref {
void linear(const float* A, int64_t lda, const float* W, int64_t ldw, const float* bias,
            float* C, int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue = {});
void linear_packed(const float* A, int64_t lda, const float* packed_W, const float* bias, float* C,
                   int64_t ldc, int64_t M, int64_t N, int64_t K, const LinearEpilogue& epilogue = {});
void attention(const float* query, int64_t ldq, int64_t nq, const KeyValueRows* blocks, int64_t num_blocks,
               int64_t num_heads, int64_t head_dim, float* scores, float* out, int64_t ldo);
void layer_norm(const float* x, int64_t ldx, const float* gamma, const float* beta, float eps,
                float* y, int64_t ldy, int64_t rows, int64_t dim);
void residual_layer_norm(const float* x, int64_t ldx, float* y, int64_t ldy, const float* gamma,
                         const float* beta, float eps, float* out, int64_t ldout, int64_t rows, int64_t dim);
void relu(float* x, int64_t n);
void gelu(float* x, int64_t n);
void silu(float* x, int64_t n);
void tanh(float* x, int64_t n);
void sigmoid(float* x, int64_t n);
void softmax(float* x, int64_t ldx, int64_t rows, int64_t cols);
void log_softmax(float* x, int64_t ldx, int64_t rows, int64_t cols);
void add(const float* x, float* y, int64_t n);
void lstm_cell(float* gates, int64_t ld_gates, const float* g_norm_weight, const float* g_norm_bias,
               const float* c_norm_weight, const float* c_norm_bias, float eps, float* c, int64_t ldc,
               float* h, int64_t ldh, int64_t rows, int64_t hidden);
}  // namespace ref

}  // namespace ember::kernels
