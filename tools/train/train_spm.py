"""The character vocabulary: a SentencePiece char model over the training text.

    /usr/bin/python3 tools/train/train_spm.py /work/ember-train/data/train.tsv \
        -o /work/ember-train/data/spm_char

Runs `spm_train --model_type=char --vocab_size=29 --bos_id=-1 --eos_id=-1
--character_coverage=1.0` (Debian package `sentencepiece`): <unk>, the word
boundary and 27 characters (a-z and '). Without --bos_id/--eos_id=-1 two
slots go to <s>/</s> and a letter is dropped; without full coverage rare
letters (z, q, x, j) may be. The model's blank is the symbol after the last
piece (num_symbols = 30, blank = 29).
"""

import argparse
import os
import subprocess
import tempfile

import sentencepiece as spm


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("manifest")
    p.add_argument("-o", "--prefix", required=True, help="writes PREFIX.model")
    args = p.parse_args()

    with open(args.manifest) as f, tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as t:
        for line in f:
            t.write(line.rstrip("\n").split("\t", 1)[1] + "\n")
    try:
        subprocess.run(["spm_train", f"--input={t.name}", f"--model_prefix={args.prefix}",
                        "--model_type=char", "--vocab_size=29", "--bos_id=-1",
                        "--eos_id=-1", "--character_coverage=1.0"],
                       check=True, capture_output=True)
    finally:
        os.unlink(t.name)
    sp = spm.SentencePieceProcessor(model_file=args.prefix + ".model")
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    missing = set("abcdefghijklmnopqrstuvwxyz'") - set(pieces)
    if missing:
        raise SystemExit(f"characters missing from the vocabulary: {sorted(missing)}")
    print(len(pieces), "pieces:", " ".join(pieces))


if __name__ == "__main__":
    main()
