"""Live parity of `ember encode` against torchaudio's Emformer RNN-T transcriber.

    /usr/bin/python3 tests/python/test_transcriber_parity.py --ember PATH --scratch DIR [--only NAME ...]

For every case in configs.py (the ~300 MB base preset included) this writes
model.pt / config.json / features.npy and torchaudio's outputs into
DIR/<case>/, runs `ember convert` and `ember encode` (non-streaming, and
streaming where supported; where it is not, checks that ember refuses), and
compares. Exits 0 when all pass, 1 on any failure, 77 (skipped) when torch or
torchaudio cannot be imported.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import case_runner  # noqa: E402

TOLERANCE = 1e-4


def run(cmd):
    """Runs cmd; returns (exit code, combined output, seconds)."""
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout, time.monotonic() - start


def compare(got_path, expected_path):
    """Returns (ok, shape text, max abs diff text)."""
    import numpy as np

    expected = np.load(expected_path)
    if not os.path.exists(got_path):
        return False, f"missing, want {expected.shape}", "-"
    got = np.load(got_path)
    if got.shape != expected.shape:
        return False, f"{got.shape} want {expected.shape}", "-"
    diff = float(np.abs(got.astype(np.float64) - expected).max()) if got.size else 0.0
    ok = np.isfinite(got).all() and diff <= TOLERANCE
    return ok, str(got.shape), f"{diff:.2e}"


def check_case(ember, scratch, case, rows):
    """Writes, converts, encodes and compares one case; appends table rows; returns ok."""
    import reference

    start = time.monotonic()
    case_dir = reference.write_case(scratch, case.name, case.config, case.seed, case.T, case.out_proj_gain)
    print(f"[{case.name}] torchaudio reference written in {time.monotonic() - start:.1f} s", flush=True)

    model = os.path.join(case_dir, "model.ember")
    if os.path.exists(model):
        os.remove(model)
    code, out, seconds = run([ember, "convert", "--checkpoint", os.path.join(case_dir, "model.pt"),
                              "--config", os.path.join(case_dir, "config.json"), "-o", model])
    if code != 0 or not os.path.exists(model):
        rows.append((case.name, "convert", f"exit {code}", "-", "FAIL"))
        print(f"[{case.name}] ember convert failed or wrote no {model}:\n{out}")
        return False
    print(f"[{case.name}] ember convert: {seconds:.2f} s, {os.path.getsize(model) / 1e6:.1f} MB .ember", flush=True)

    all_ok = True
    features = os.path.join(case_dir, "features.npy")
    for mode, flags in (("full", []), ("streaming", ["--streaming"])):
        expected = os.path.join(case_dir, "expected.npy" if mode == "full" else "expected_streaming.npy")
        got = os.path.join(case_dir, f"got_{mode}.npy")
        if os.path.exists(got):
            os.remove(got)
        code, out, seconds = run([ember, "encode", model, "--features", features, "--out", got] + flags)
        if not os.path.exists(expected):
            # Streaming unsupported for this config: ember must refuse, saying why, and write nothing.
            ok = code > 0 and not os.path.exists(got) and "stride" in out.lower()
            rows.append((case.name, mode, "refused" if code > 0 else f"exit {code}", "-", "ok" if ok else "FAIL"))
            if not ok:
                print(f"[{case.name}] expected a refusal mentioning the stride, got exit {code}:\n{out}")
            all_ok &= ok
            continue
        if code != 0:
            rows.append((case.name, mode, f"exit {code}", "-", "FAIL"))
            print(out)
            all_ok = False
            continue
        ok, shape, diff = compare(got, expected)
        rows.append((case.name, mode, shape, diff, "ok" if ok else "FAIL"))
        print(f"[{case.name}] ember encode {mode}: {seconds:.2f} s", flush=True)
        all_ok &= ok
    return all_ok


def main():
    header = ("config", "mode", "shape", "max abs diff", "")
    return case_runner.run_cases(__doc__, "ALL_CASES", check_case, header, f"tolerance {TOLERANCE:g}")


if __name__ == "__main__":
    sys.exit(main())
