// ember_bench: every benchmark registers itself; OpenBLAS runs on one thread,
// as ember does, and on the best kernels it has for this CPU.
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <unistd.h>

#include <cstdlib>

#include "kernels/kernels.h"

namespace {

// Debian's OpenBLAS 0.3.21 picks its kernels from the CPU model as it loads,
// and on a model it does not know (an Emerald Rapids Xeon, for one) falls back
// to its SSE3 "Prescott" kernels: 29 GFLOP/s at 1024^3 there, against ~130
// with its AVX-512 ones, a reference not worth beating. The same choice as
// tests/python/openblas_core.py makes for torch.
const char* openblas_core_for_this_cpu() {
    if (ember::kernels::isa_supported(ember::kernels::Isa::avx512)) return "SkylakeX";
    if (ember::kernels::isa_supported(ember::kernels::Isa::avx2)) return "Haswell";
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    // OpenBLAS reads OPENBLAS_CORETYPE only when it loads: run again with it
    // set, unless the caller chose (execv returns only when it fails, and then
    // OpenBLAS keeps its own choice, named in the output's context).
    const char* core = openblas_core_for_this_cpu();
    if (core && !std::getenv("OPENBLAS_CORETYPE") && setenv("OPENBLAS_CORETYPE", core, 1) == 0)
        execv("/proc/self/exe", argv);
    openblas_set_num_threads(1);
    benchmark::AddCustomContext("openblas_kernels", openblas_get_corename());
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
