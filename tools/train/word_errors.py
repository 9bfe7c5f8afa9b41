"""Where a model's word errors are: by how often the training text holds each word.

    ember eval models/tiny-en.ember --manifest $D/test.tsv --beam 10 --json > test.json
    /usr/bin/python3 tools/train/word_errors.py $D/train.tsv test.json [older.json ...]

Each reference word of each utterance is aligned to the hypothesis (word
edit distance, as `ember eval` counts it) and is wrong when it is substituted
or deleted (insertions belong to no reference word). The words are grouped by
how often the training manifest's text holds them; one column per JSON file.
"""

import argparse
import collections
import json

from manifest import read_manifest

BANDS = [(0, 0, "0"), (1, 4, "1–4"), (5, 49, "5–49"), (50, None, "50 or more")]


def wrong_reference_words(reference, hypothesis):
    """-> one bool per reference word: substituted or deleted in a minimal alignment."""
    n, m = len(reference), len(hypothesis)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dist[i][j] = min(dist[i - 1][j] + 1, dist[i][j - 1] + 1,
                             dist[i - 1][j - 1] + (reference[i - 1] != hypothesis[j - 1]))
    wrong = [False] * n
    i, j = n, m
    while i > 0:  # walk back one minimal path; matches first, then deletions, substitutions, insertions
        if j > 0 and reference[i - 1] == hypothesis[j - 1] and dist[i][j] == dist[i - 1][j - 1]:
            i, j = i - 1, j - 1
        elif dist[i][j] == dist[i - 1][j] + 1:
            wrong[i - 1] = True
            i -= 1
        elif j > 0 and dist[i][j] == dist[i - 1][j - 1] + 1:
            wrong[i - 1] = True
            i, j = i - 1, j - 1
        else:
            j -= 1
    return wrong


def band_of(count):
    return next(name for low, high, name in BANDS if count >= low and (high is None or count <= high))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("train_tsv", help="the training manifest whose text the counts come from")
    p.add_argument("evals", nargs="+", help="`ember eval --json` outputs, each a column")
    args = p.parse_args()

    counts = collections.Counter()
    for _, text in read_manifest(args.train_tsv):
        counts.update(text.split())

    columns = []
    for path in args.evals:
        with open(path) as f:
            results = json.load(f)["results"]
        words, wrong = collections.Counter(), collections.Counter()
        for r in results:
            reference = r["reference"].split()
            for word, is_wrong in zip(reference, wrong_reference_words(reference, r["hypothesis"].split())):
                band = band_of(counts[word])
                words[band] += 1
                wrong[band] += is_wrong
        columns.append((words, wrong))

    print("| occurrences in the training text | words | " + " | ".join(args.evals) + " |")
    print("|---|---|" + "---|" * len(args.evals))
    for _, _, band in BANDS:
        cells = [f"{100 * wrong[band] / words[band]:.1f}%" if words[band] else "-" for words, wrong in columns]
        print(f"| {band} | {columns[0][0][band]:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
