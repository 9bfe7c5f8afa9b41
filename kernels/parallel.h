// Splitting one kernel call across cores: a small pool of worker threads
// that kernels hand parts of their output to. Internal to kernels/ apart
// from the thread count, which kernels.h exposes.
#pragma once

#include <cstdint>

namespace ember::kernels {

// Runs body(context, part) for every part in [0, parts): part 0 on the calling
// thread, the others on the pool's workers, returning when all are done. When
// the pool is already running another caller's parts (streams decoded on
// several threads at once), every part runs on the caller instead: the cores
// are busy anyway. Allocates nothing.
void run_parts(int parts, void (*body)(void* context, int part), void* context);

}  // namespace ember::kernels
