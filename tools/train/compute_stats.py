"""Global feature statistics in torchaudio's JSON format.

    /usr/bin/python3 tools/train/compute_stats.py /work/ember-train/data/train.tsv \
        -o /work/ember-train/data/global_stats.json

Writes {"mean": [80 floats], "invstddev": [80 floats]} over every frame of the
un-normalised log-mel features of the manifest's utterances, or of every k-th
one with --max-utterances (as torchaudio's
examples/asr generate_global_stats does: invstddev = 1 / sqrt(E[x^2] - E[x]^2)).

    /usr/bin/python3 tools/train/compute_stats.py --from-model models/tiny-en.ember \
        -o /work/ember-train/data/global_stats.json

copies the stats a converted model carries instead (front_end.global_mean and
global_invstddev), so that a run going on from that model's weights on
regenerated data normalises its features exactly as the model was trained.
"""

import argparse
import json
import os
import sys

import torch

from features import log_mel, read_wav
from manifest import read_manifest


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("manifest", nargs="?")
    p.add_argument("--from-model", metavar="MODEL.ember",
                   help="copy the model's stats instead of computing them")
    p.add_argument("-o", "--out", required=True)
    p.add_argument("--max-utterances", type=int, default=3000,
                   help="use every k-th utterance so that at most this many are read (0: all)")
    args = p.parse_args()
    if (args.manifest is None) == (args.from_model is None):
        p.error("give either a manifest or --from-model")
    if args.from_model:
        return copy_model_stats(args.from_model, args.out)
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
    write_stats(args.out, mean.tolist(), (1.0 / var.sqrt()).tolist())
    print(f"{len(items)} utterances, {count} frames -> {args.out}")


def copy_model_stats(model_path, out):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
    from ember_file import read_ember
    metadata, _ = read_ember(model_path)
    write_stats(out, metadata["front_end.global_mean"], metadata["front_end.global_invstddev"])
    print(f"{model_path}'s stats -> {out}")


def write_stats(out, mean, invstddev):
    with open(out, "w") as f:
        json.dump({"mean": mean, "invstddev": invstddev}, f, indent=2)


if __name__ == "__main__":
    main()
