"""Regenerates the committed decoder fixtures, tests/fixtures/decoder/<case>/, from the small
cases in configs.DECODE_CASES (the base preset is too large to commit).

    /usr/bin/python3 tests/python/make_decode_fixtures.py

Each directory holds model.pt, config.json, features.npy and expected_decode.json (see
decode_reference.py). Deterministic: fixed seeds and one thread, so a rerun on the same
machine rewrites identical files. Directories of cases no longer in configs.py are removed.
"""

import os
import shutil
import sys

import torch

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configs  # noqa: E402
import decode_reference  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "decoder")


def main():
    torch.set_num_threads(1)
    root = os.path.normpath(FIXTURES)
    os.makedirs(root, exist_ok=True)
    names = {case.name for case in configs.DECODE_CASES}
    for stale in sorted(set(os.listdir(root)) - names):
        shutil.rmtree(os.path.join(root, stale))
        print(f"removed {stale}")
    for case in configs.DECODE_CASES:
        case_dir, expected = decode_reference.write_decode_case(root, case)
        size = sum(os.path.getsize(os.path.join(case_dir, f)) for f in os.listdir(case_dir))
        emitted = " ".join(f"{r['emitted']}/{r['encoder_frames']}" for r in expected["runs"])
        hits = sum(r["step_max_tokens_hits"] for r in expected["runs"])
        print(f"{case.name:16s} {size / 1024:4.0f} KB  seed {expected['seed']}  "
              f"gap {expected['smallest_relative_gap']:.1e}  emitted/frames {emitted}"
              + (f"  step_max_tokens hits {hits}" if hits else ""))


if __name__ == "__main__":
    main()
