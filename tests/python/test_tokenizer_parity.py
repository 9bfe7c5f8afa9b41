"""Live parity of ember's SentencePiece vocabulary against sentencepiece and torchaudio.

    /usr/bin/python3 tests/python/test_tokenizer_parity.py --ember PATH --scratch DIR

Trains SentencePiece models with spm_train (unigram, bpe, char, word; default
special pieces, --bos_id=-1 --eos_id=-1, --pad_id=3, renamed and renumbered
special pieces, control and user-defined symbols) on licence text from
/usr/share/common-licenses, converts a tiny torchaudio Emformer RNN-T with each
(`ember convert --sentencepiece`), and checks that
  - `ember info` reports the vocabulary size and the four special ids;
  - `ember info --pieces` gives exactly sentencepiece's pieces, ids and piece
    types (as far as sentencepiece's API shows types);
  - torchaudio's detokenization, replayed from what ember stored (pieces and
    unk/eos/pad ids), equals _SentencePieceTokenProcessor's output on random
    and encoded token sequences: the stored data is all detokenize() needs.
    (detokenize() itself is checked against torchaudio by tests/test_tokenizer.cpp
    on committed fixtures; this script has no text verb to call yet.)
  - a model sentencepiece refuses (no unknown piece) is refused by ember convert.
Exits 0 when all pass, 1 on any failure, 77 (skipped) when torch, torchaudio,
sentencepiece or spm_train is missing.
"""

import json
import os
import random
import re
import subprocess
import sys

import harness

MODELS = {
    "unigram": ["--model_type=unigram", "--vocab_size=120"],
    "bpe_pad3": ["--model_type=bpe", "--vocab_size=100", "--pad_id=3"],
    "char_no_bos_eos": ["--model_type=char", "--bos_id=-1", "--eos_id=-1"],
    "word": ["--model_type=word", "--vocab_size=50"],
    "renamed": ["--vocab_size=90", "--unk_piece=<UNK>", "--bos_piece=[BOS]", "--eos_piece=[EOS]",
                "--pad_piece=[PAD]", "--unk_id=2", "--bos_id=3", "--eos_id=0", "--pad_id=1"],
    "symbols": ["--model_type=bpe", "--vocab_size=90", "--control_symbols=<pad>,<sep>",
                "--user_defined_symbols=\u3000,\u00a0,\t,<x>"],
    "user_pad": ["--vocab_size=80", "--user_defined_symbols=<pad>"],
}


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def write_corpus(path):
    text = " ".join(open(os.path.join("/usr/share/common-licenses", name), encoding="utf-8").read()
                    for name in ("GPL-3", "Apache-2.0", "LGPL-2.1"))
    sentences = [s.strip() for s in re.split(r"(?<=[.;:])\s+", re.sub(r"\s+", " ", text))]
    sentences = [s for s in sentences if 20 <= len(s) <= 300]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(sentences) + "\n")
    return sentences


def write_tiny_model(directory, num_symbols):
    """A tiny emformer_rnnt_model's state_dict and config.json; returns their paths."""
    import torch
    from torchaudio.models import emformer_rnnt_model

    config = dict(input_dim=8, encoding_dim=8, num_symbols=num_symbols, segment_length=4, right_context_length=0,
                  time_reduction_input_dim=4, time_reduction_stride=2, transformer_num_heads=1,
                  transformer_ffn_dim=8, transformer_num_layers=1, transformer_dropout=0.0,
                  transformer_activation="relu", transformer_left_context_length=0,
                  transformer_max_memory_size=0, transformer_weight_init_scale_strategy="depthwise",
                  transformer_tanh_on_mem=True, symbol_embedding_dim=8, num_lstm_layers=1, lstm_layer_norm=True,
                  lstm_layer_norm_epsilon=1e-3, lstm_dropout=0.0)
    torch.manual_seed(0)
    model = emformer_rnnt_model(**config)
    checkpoint, config_path = os.path.join(directory, "model.pt"), os.path.join(directory, "config.json")
    torch.save(model.state_dict(), checkpoint)
    with open(config_path, "w") as f:
        json.dump(config, f)
    return checkpoint, config_path


def replay(pieces, unk_id, eos_id, pad_id, tokens, lstrip=True):
    """torchaudio's _SentencePieceTokenProcessor.__call__ on what ember stored."""
    removed = {unk_id, eos_id, pad_id}
    kept = [t for t in tokens[1:] if t not in removed]
    for t in kept:
        if t < 0 or t >= len(pieces):
            raise IndexError("piece id is out of range.")
    text = "".join(pieces[t] for t in kept).replace("\u2581", " ")
    return text.lstrip() if lstrip else text


def token_sequences(sp, sentences, rng):
    n = sp.get_piece_size()
    specials = [i for i in (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) if i >= 0]
    out = [[], [n], [n] + specials, [n, n], [n, -1, 4], [n, -2]]
    out += [[n] + sp.encode(s) for s in rng.sample(sentences, 5)]
    for _ in range(200):
        out.append([rng.randrange(-3, n + 3)] +
                   [rng.choice(specials) if specials and rng.random() < 0.3 else rng.randrange(n)
                    for _ in range(rng.randrange(12))])
    return out


def check_model(ember, scratch, name, flags, corpus, sentences, checkpoint_for, rng):
    import sentencepiece as spm
    from torchaudio.pipelines.rnnt_pipeline import _SentencePieceTokenProcessor

    failures = []
    prefix = os.path.join(scratch, name)
    code, _, err = run(["spm_train", "--input=" + corpus, "--model_prefix=" + prefix, "--num_threads=1",
                        "--character_coverage=0.98", "--minloglevel=2"] + flags)
    if code != 0:
        return [f"spm_train {' '.join(flags)} failed:\n{err[-2000:]}"]
    sp_path = prefix + ".model"
    sp = spm.SentencePieceProcessor(model_file=sp_path)
    n = sp.get_piece_size()
    ids = dict(unk_id=sp.unk_id(), bos_id=sp.bos_id(), eos_id=sp.eos_id(), pad_id=sp.pad_id())

    checkpoint, config = checkpoint_for(n + 1)
    out = prefix + ".ember"
    code, stdout, err = run([ember, "convert", "--checkpoint", checkpoint, "--config", config,
                             "--sentencepiece", sp_path, "-o", out])
    if code != 0:
        return [f"ember convert --sentencepiece failed (exit {code}):\n{stdout}{err}"]

    code, stdout, err = run([ember, "info", out])
    want = (f"vocabulary:      {n} SentencePiece pieces; unk {ids['unk_id']}, bos {ids['bos_id']}, "
            f"eos {ids['eos_id']}, pad {ids['pad_id']}")
    if code != 0 or want not in stdout:
        failures.append(f"ember info: want line '{want}', got (exit {code}):\n{stdout}{err}")

    code, stdout, err = run([ember, "info", out, "--pieces"])
    if code != 0:
        return failures + [f"ember info --pieces failed (exit {code}): {err}"]
    got = json.loads(stdout)
    want_pieces = [sp.id_to_piece(i) for i in range(n)]
    if got["pieces"] != want_pieces:
        first = next(i for i in range(max(len(got["pieces"]), n))
                     if i >= len(got["pieces"]) or i >= n or got["pieces"][i] != want_pieces[i])
        failures.append(f"pieces differ first at id {first} ({len(got['pieces'])} vs {n} pieces)")
    for key, value in ids.items():
        if got[key] != value:
            failures.append(f"{key}: ember {got[key]}, sentencepiece {value}")
    for i, t in enumerate(got["types"][:n]):
        api = (sp.is_unknown(i), sp.is_control(i), sp.is_unused(i), sp.is_byte(i))
        if api != (t == 2, t == 3, t == 5, t == 6):
            failures.append(f"piece {i} '{want_pieces[i]}': ember type {t}, sentencepiece (unknown, control, "
                            f"unused, byte) = {api}")
            break

    processor = _SentencePieceTokenProcessor(sp_path)
    mismatches = 0
    for tokens in token_sequences(sp, sentences, rng):
        for lstrip in (True, False):
            try:
                want_text = processor(tokens, lstrip=lstrip)
            except IndexError:
                want_text = IndexError
            try:
                got_text = replay(got["pieces"], got["unk_id"], got["eos_id"], got["pad_id"], tokens, lstrip)
            except IndexError:
                got_text = IndexError
            if got_text != want_text:
                mismatches += 1
                if mismatches <= 3:
                    failures.append(f"tokens {tokens} lstrip={lstrip}: from ember's data {got_text!r}, "
                                    f"torchaudio {want_text!r}")
    if mismatches > 3:
        failures.append(f"... {mismatches} detokenization mismatches in all")
    print(f"[{name}] {n} pieces, unk {ids['unk_id']} bos {ids['bos_id']} eos {ids['eos_id']} pad {ids['pad_id']}: "
          f"{'ok' if not failures else 'FAIL'}", flush=True)
    return failures


def check_refused(ember, scratch, checkpoint_for):
    """A model whose unknown piece is made normal: sentencepiece refuses it, so must ember."""
    import sentencepiece as spm

    source = open(os.path.join(scratch, "unigram.model"), "rb").read()
    # The first piece is <unk>: field 1 (pieces) → its type field 3 = 2; set it to 1 (normal).
    marker = b"\x18\x02"
    at = source.find(marker)
    broken = source[:at] + b"\x18\x01" + source[at + 2:]
    path = os.path.join(scratch, "no_unknown.model")
    with open(path, "wb") as f:
        f.write(broken)
    try:
        spm.SentencePieceProcessor(model_file=path)
        return ["the edited model still loads in sentencepiece; the test's edit is wrong"]
    except (RuntimeError, OSError):
        pass
    checkpoint, config = checkpoint_for(121)
    code, stdout, err = run([ember, "convert", "--checkpoint", checkpoint, "--config", config,
                             "--sentencepiece", path, "-o", os.path.join(scratch, "refused.ember")])
    if code != 1 or "unknown type" not in stdout + err:
        return [f"ember convert accepted a model without an unknown piece (exit {code}): {stdout}{err}"]
    print("[no_unknown] refused: ok", flush=True)
    return []


def main():
    args = harness.argument_parser(__doc__).parse_args()
    harness.skip_unless(["sentencepiece", "torch", "torchaudio", "torchaudio.pipelines.rnnt_pipeline"],
                        tools=["spm_train"])

    os.makedirs(args.scratch, exist_ok=True)
    corpus = os.path.join(args.scratch, "corpus.txt")
    sentences = write_corpus(corpus)
    checkpoints = {}

    def checkpoint_for(num_symbols):
        if num_symbols not in checkpoints:
            directory = os.path.join(args.scratch, f"tiny_{num_symbols}")
            os.makedirs(directory, exist_ok=True)
            checkpoints[num_symbols] = write_tiny_model(directory, num_symbols)
        return checkpoints[num_symbols]

    rng = random.Random(20240613)
    failures = []
    for name, flags in MODELS.items():
        failures += [f"[{name}] {f}" for f in check_model(args.ember, args.scratch, name, flags, corpus, sentences,
                                                          checkpoint_for, rng)]
    failures += check_refused(args.ember, args.scratch, checkpoint_for)
    for failure in failures:
        print("FAIL", failure)
    print("all passed" if not failures else f"{len(failures)} failures")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
