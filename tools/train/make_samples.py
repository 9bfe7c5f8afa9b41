"""Pick the shipped sample WAVs from the held-out sets that make_data.py wrote.

    /usr/bin/python3 tools/train/make_samples.py [--data /work/ember-train/data] [--out samples]

Copies --per-set utterances of 6 to 14 words from test.tsv (held-out
sentences, training voices: the first ones) and from test_voice.tsv (the same
sentences in the held-out voice: the next ones, so that the samples say
different things) into --out, and writes --out/samples.tsv, the
`ember eval` manifest (path relative to it, TAB, reference text). The choice
depends only on the manifests, so the same data gives the same samples.
"""

import argparse
import os
import shutil

from manifest import read_manifest


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="/work/ember-train/data")
    p.add_argument("--out", default="samples")
    p.add_argument("--per-set", type=int, default=4)
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for k, (manifest, prefix) in enumerate((("test.tsv", "heldout-sentence"),
                                            ("test_voice.tsv", "heldout-voice"))):
        picked = [(path, text) for path, text in read_manifest(os.path.join(args.data, manifest))
                  if 6 <= len(text.split()) <= 14][k * args.per_set:(k + 1) * args.per_set]
        for n, (path, text) in enumerate(picked, 1):
            name = f"{prefix}-{n}.wav"
            shutil.copyfile(path, os.path.join(args.out, name))
            rows.append(f"{name}\t{text}\n")
    with open(os.path.join(args.out, "samples.tsv"), "w") as f:
        f.writelines(rows)
    print(f"{len(rows)} samples in {args.out}")


if __name__ == "__main__":
    main()
