"""The OpenBLAS kernels to ask for, for PyTorch runs that should be as fast as
this CPU allows (the torchaudio side of bench/compare_torchaudio.py, training).

Debian's torch calls the system BLAS, OpenBLAS 0.3.21, which picks its kernels
from the CPU model at load time and falls back to its Prescott (SSE3) ones on
models it does not know, newer CPUs among them (an Emerald Rapids Xeon here,
reported as "Core: Prescott" with OPENBLAS_VERBOSE=2). There nn.Linear's
product of a (1504, 192) batch and a (768, 192) weight took 20 ms, against
2.7 ms with OPENBLAS_CORETYPE=SkylakeX. Set the variable before torch loads:

    os.environ.update(openblas_environment())

Imports nothing that loads OpenBLAS.
"""

import os

AVX512_KERNELS = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}  # what SkylakeX's kernels use
AVX2_KERNELS = {"avx2", "fma"}  # Haswell's


def core_type(cpuinfo="/proc/cpuinfo"):
    """SkylakeX, Haswell, or None (let OpenBLAS choose) from the CPU's flags."""
    try:
        with open(cpuinfo) as f:
            flags = set(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        return None
    if AVX512_KERNELS <= flags:
        return "SkylakeX"
    if AVX2_KERNELS <= flags:
        return "Haswell"
    return None


def openblas_environment():
    """{"OPENBLAS_CORETYPE": ...} unless the environment already sets it or the
    CPU has neither AVX-512 nor AVX2; else {}."""
    core = None if "OPENBLAS_CORETYPE" in os.environ else core_type()
    return {"OPENBLAS_CORETYPE": core} if core else {}


def loaded_core_name():
    """The kernels the OpenBLAS torch has loaded runs ("SkylakeX", "Prescott"),
    or None when the system BLAS is not OpenBLAS. Call after importing torch."""
    import ctypes

    try:
        name = ctypes.CDLL("libblas.so.3").openblas_get_corename
    except (OSError, AttributeError):
        return None
    name.restype = ctypes.c_char_p
    return name().decode()
