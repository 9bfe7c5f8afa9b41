// The kernel table of one ISA, built from the shared kernel templates.
// Included only by the isa_*.cpp files, each compiled with its ISA's flags and
// each defining EMBER_ISA_NS to its own namespace first.
#pragma once

#include "kernels/simd_attention.h"
#include "kernels/simd_linear.h"
#include "kernels/simd_linear_packed.h"
#include "kernels/simd_pointwise.h"
#include "kernels/simd_rows.h"
#include "kernels/table.h"

namespace ember::kernels::EMBER_ISA_NS {

// MR rows of A by NR rows of W (linear) or NR vectors of value columns
// (attention_values) per tile: MR*NR accumulators plus NR streamed vectors must fit the ISA's
// vector registers. linear_packed's tiles are PMR rows of A by PNP panels of
// 16 columns.
template <class Arch, int MR, int NR, int PMR, int PNP>
constexpr KernelTable make_table() {
    return KernelTable{
        &linear<Arch, MR, NR>,
        &finish_linear<Arch>,
        &linear_packed<Arch, PMR, PNP>,
        &attention_values<Arch, MR, NR>,
        &layer_norm<Arch>,
        &residual_layer_norm<Arch>,
        &relu<Arch>,
        &gelu<Arch>,
        &silu<Arch>,
        &tanh<Arch>,
        &sigmoid<Arch>,
        &softmax<Arch>,
        &log_softmax<Arch>,
        &add<Arch>,
    };
}

}  // namespace ember::kernels::EMBER_ISA_NS
