// ember_bench: every benchmark registers itself; OpenBLAS runs on one thread,
// as ember does.
#include <benchmark/benchmark.h>
#include <cblas.h>

int main(int argc, char** argv) {
    openblas_set_num_threads(1);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
