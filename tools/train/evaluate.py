"""Greedy RNN-T decoding and WER/CER, for monitoring during training.

    /usr/bin/python3 tools/train/evaluate.py CHECKPOINT.pt MANIFEST.tsv \
        --stats global_stats.json --spm spm_char.model [--limit N]

Greedy search: at each encoder frame emit the best non-blank symbol (up to
MAX_SYMBOLS_PER_FRAME times) until blank wins. Non-streaming, full context.
WER and CER are edit distances over words and over characters (spaces
included) of the normalised texts, summed over the set and divided by the
reference length.
"""

import argparse

import sentencepiece as spm
import torch

from features import features, load_global_stats, read_wav
from manifest import read_manifest
from model import BLANK, CONFIG, Trainable

MAX_SYMBOLS_PER_FRAME = 5


def edit_distance(ref, hyp):
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


@torch.no_grad()
def greedy_decode(rnnt, sources, source_lengths):
    """sources (1, T + right context, 80) -> token ids."""
    enc, enc_lengths = rnnt.transcribe(sources, source_lengths)
    tokens = []
    symbol = torch.tensor([[BLANK]], dtype=torch.int32)
    pred, _, state = rnnt.predict(symbol, torch.tensor([1], dtype=torch.int32), None)
    for t in range(int(enc_lengths[0])):
        frame = enc[:, t:t + 1]
        for _ in range(MAX_SYMBOLS_PER_FRAME):
            logits, _, _ = rnnt.join(frame, torch.tensor([1]), pred, torch.tensor([1]))
            best = int(logits[0, 0, 0].argmax())
            if best == BLANK:
                break
            tokens.append(best)
            symbol = torch.tensor([[best]], dtype=torch.int32)
            pred, _, state = rnnt.predict(symbol, torch.tensor([1], dtype=torch.int32), state)
    return tokens


def evaluate(rnnt, items, mean, invstddev, sp):
    """items: [(wav path, reference)] -> (wer %, cer %, [(ref, hyp)])."""
    was_training = rnnt.training
    rnnt.eval()
    word_err = word_n = char_err = char_n = 0
    pairs = []
    for path, ref in items:
        x = features(read_wav(path), mean, invstddev).unsqueeze(0)
        length = torch.tensor([x.shape[1] - CONFIG["right_context_length"]], dtype=torch.int32)
        hyp = sp.decode(greedy_decode(rnnt, x, length)).strip()
        word_err += edit_distance(ref.split(), hyp.split())
        word_n += len(ref.split())
        char_err += edit_distance(ref, hyp)
        char_n += len(ref)
        pairs.append((ref, hyp))
    rnnt.train(was_training)
    return 100.0 * word_err / word_n, 100.0 * char_err / char_n, pairs


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("manifest")
    p.add_argument("--stats", required=True)
    p.add_argument("--spm", required=True)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--show", type=int, default=5, help="print this many transcripts")
    args = p.parse_args()
    torch.set_num_threads(2)

    model = Trainable(CONFIG)
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu")["model"])
    items = read_manifest(args.manifest)
    if args.limit:
        items = items[:args.limit]
    mean, invstddev = load_global_stats(args.stats)
    wer, cer, pairs = evaluate(model.rnnt, items, mean, invstddev,
                               spm.SentencePieceProcessor(model_file=args.spm))
    for ref, hyp in pairs[:args.show]:
        print(f"REF {ref}\nHYP {hyp}")
    print(f"{len(items)} utterances: WER {wer:.2f}%  CER {cer:.2f}%")


if __name__ == "__main__":
    main()
