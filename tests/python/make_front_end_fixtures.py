"""Writes tests/fixtures/front_end/<case>/ for tests/test_front_end.cpp.

    /usr/bin/python3 tests/python/make_front_end_fixtures.py [--out tests/fixtures/front_end]

Each case holds config.json (the front-end settings, segment_length and
right_context_length, and the global stats when the case has them),
waveform.npy (float32, 1-D) and torchaudio's features for it:
expected.npy from the pipeline's feature extractor (right padding included)
and expected_streaming.npy from the tutorial's streaming loop over the
streaming extractor, segments concatenated. The extractors are built by
test_front_end_parity.feature_extractors (torchaudio's own RNNTBundle code).
"""

import argparse
import json
import os
import sys

import numpy as np

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_front_end_parity as parity  # noqa: E402

CASES = {
    # The EMFORMER_RNNT_BASE settings, with global stats.
    "base_16k": dict(front_end=dict(sample_rate=16000, n_fft=400, hop_length=160, n_mels=80, right_padding=4),
                     segment_length=16, right_context_length=4, stats=True, samples=4000),
    # Odd n_fft (255 = 3 * 5 * 17: the odd-length FFT and the generic prime radix),
    # another rate, no global stats (identity normalisation).
    "odd_8k_nostats": dict(front_end=dict(sample_rate=8000, n_fft=255, hop_length=64, n_mels=23, right_padding=2),
                           segment_length=3, right_context_length=1, stats=False, samples=1001),
}


def waveform(samples, sample_rate, seed):
    """A chirp-like tone over noise, with a quiet stretch: float32 (samples,)."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / sample_rate
    tone = 0.3 * np.sin(2 * np.pi * (200 * t + 0.25 * sample_rate * t * t / t[-1] * 0.5))
    wave = tone + 0.01 * rng.standard_normal(samples)
    wave[samples // 3: samples // 2] *= 1e-3
    return wave.astype(np.float32)


def write_case(out_dir, name, case, seed):
    case_dir = os.path.join(out_dir, name)
    os.makedirs(case_dir, exist_ok=True)
    front_end = case["front_end"]
    config = dict(front_end, segment_length=case["segment_length"],
                  right_context_length=case["right_context_length"])
    stats_path = None
    if case["stats"]:
        config.update(parity.global_stats(front_end["n_mels"], seed))
        stats_path = os.path.join(case_dir, "global_stats.tmp.json")
        with open(stats_path, "w") as f:
            json.dump({"mean": config["mean"], "invstddev": config["invstddev"]}, f)
    with open(os.path.join(case_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
        f.write("\n")

    wave = waveform(case["samples"], front_end["sample_rate"], seed)
    full, streaming = parity.feature_extractors(front_end, case["segment_length"], case["right_context_length"],
                                                stats_path)
    if stats_path:
        os.remove(stats_path)
    expected, _, mask = parity.reference_features(full, wave)
    expected_streaming, _, mask_streaming = parity.reference_streaming(
        streaming, wave, case["segment_length"], case["right_context_length"], front_end["hop_length"])
    if mask.any() or mask_streaming.any():
        raise SystemExit(f"{name}: a value lies next to a jump of the log; pick another seed")
    np.save(os.path.join(case_dir, "waveform.npy"), wave)
    np.save(os.path.join(case_dir, "expected.npy"), expected.astype(np.float32))
    np.save(os.path.join(case_dir, "expected_streaming.npy"), expected_streaming.astype(np.float32))
    print(f"{name}: waveform {wave.shape}, expected {expected.shape}, streaming {expected_streaming.shape}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "fixtures", "front_end"))
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    for seed, (name, case) in enumerate(sorted(CASES.items())):
        write_case(args.out, name, case, seed + 100)


if __name__ == "__main__":
    main()
