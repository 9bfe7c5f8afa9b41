"""Regenerates the committed transcriber fixtures, tests/fixtures/transcriber/<case>/,
from the small cases in configs.py (the base preset is too large to commit).

    /usr/bin/python3 tests/python/make_fixtures.py

Deterministic: fixed seeds and one thread, so a rerun on the same machine
rewrites identical files. Directories of cases no longer in configs.py are removed.
"""

import math
import os
import shutil
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402
import reference  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "transcriber")


def streaming_prefix_diff(case_dir, config):
    """Max |streaming - full| over the rows of all segments but the last, where torchaudio's two
    paths see the same frames and should agree to rounding; None without a streaming output."""
    path = os.path.join(case_dir, "expected_streaming.npy")
    if not os.path.exists(path):
        return None
    full, streaming = np.load(os.path.join(case_dir, "expected.npy")), np.load(path)
    kw = reference.resolve(config)
    seg = kw["segment_length"] // kw["time_reduction_stride"]
    rows = (math.ceil(full.shape[0] / seg) - 1) * seg
    return float(np.abs(full[:rows] - streaming[:rows]).max())


def main():
    torch.set_num_threads(1)
    root = os.path.normpath(FIXTURES)
    os.makedirs(root, exist_ok=True)
    names = {case.name for case in configs.SMALL_CASES}
    for stale in sorted(set(os.listdir(root)) - names):
        shutil.rmtree(os.path.join(root, stale))
        print(f"removed {stale}")
    for case in configs.SMALL_CASES:
        case_dir = reference.write_case(root, case.name, case.config, case.seed, case.T, case.out_proj_gain)
        files = sorted(os.listdir(case_dir))
        size = sum(os.path.getsize(os.path.join(case_dir, f)) for f in files)
        diff = streaming_prefix_diff(case_dir, case.config)
        agree = "no streaming" if diff is None else f"streaming vs full before the last segment: {diff:.1e}"
        print(f"{case.name:28s} {size / 1024:4.0f} KB  {agree}")


if __name__ == "__main__":
    main()
