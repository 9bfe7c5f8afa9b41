"""Global feature statistics in torchaudio's JSON format.

    /usr/bin/python3 tools/train/compute_stats.py /work/ember-train/data/train.tsv \
        -o /work/ember-train/data/global_stats.json

Writes {"mean": [80 floats], "invstddev": [80 floats]} over every frame of the
un-normalised log-mel features of the manifest's utterances, or of every k-th
one with --max-utterances (as torchaudio's
examples/asr generate_global_stats does: invstddev = 1 / sqrt(E[x^2] - E[x]^2)).
"""

import argparse
import json

import torch

from features import log_mel, read_wav
from manifest import read_manifest


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("manifest")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--max-utterances", type=int, default=3000,
                   help="use every k-th utterance so that at most this many are read (0: all)")
    args = p.parse_args()
    torch.set_num_threads(2)

    total = torch.zeros(80, dtype=torch.float64)
    total_sq = torch.zeros(80, dtype=torch.float64)
    count = 0
    items = read_manifest(args.manifest)
    if args.max_utterances and len(items) > args.max_utterances:
        items = items[::-(-len(items) // args.max_utterances)]
    for n, (path, _) in enumerate(items, 1):
        x = log_mel(read_wav(path)).double()
        total += x.sum(0)
        total_sq += (x * x).sum(0)
        count += x.shape[0]
        if n % 2000 == 0:
            print(n, "utterances", flush=True)
    mean = total / count
    var = total_sq / count - mean * mean
    blob = {"mean": mean.tolist(), "invstddev": (1.0 / var.sqrt()).tolist()}
    with open(args.out, "w") as f:
        json.dump(blob, f, indent=2)
    print(f"{len(items)} utterances, {count} frames -> {args.out}")


if __name__ == "__main__":
    main()
