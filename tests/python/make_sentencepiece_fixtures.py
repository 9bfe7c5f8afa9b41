#!/usr/bin/python3
"""Writes tests/fixtures/sentencepiece/: small SentencePiece models and what
sentencepiece and torchaudio make of them (expected.json), for
tests/test_tokenizer.cpp.

    /usr/bin/python3 tests/python/make_sentencepiece_fixtures.py

Needs spm_train (Debian's sentencepiece), python3-sentencepiece and
python3-torchaudio. The models are trained with spm_train on sentences of the
licence texts in /usr/share/common-licenses (Debian's base-files), one thread
and a fixed seed; spm_train still does not reproduce a model byte for byte, so
the models and expected.json are committed together and regenerated together.

Besides trained models the script writes:
  crafted_*.model  trained models with their protobuf edited, to pin down how
                   sentencepiece finds unk_id()/bos_id()/eos_id()/pad_id()
                   (no TrainerSpec, empty or NUL-holding piece names, a name
                   shadowed by another piece, an enum value proto2 does not
                   know, two TrainerSpec messages merged);
  invalid_*.model  files sentencepiece refuses to load, which ember must
                   refuse too (expected.json records sentencepiece's error).

expected.json, per loadable model: pieces, scores and types as stored, the
four ids as SentencePieceProcessor reports them, and token sequences with
torchaudio's _SentencePieceTokenProcessor output for lstrip True and False
(or the exception it raises).
"""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import sentencepiece as spm
import torchaudio
from torchaudio.pipelines.rnnt_pipeline import _SentencePieceTokenProcessor

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "sentencepiece")
LICENSES = ["GPL-3", "Apache-2.0", "LGPL-2.1", "MPL-2.0", "Artistic"]

# name -> spm_train flags besides --input/--model_prefix. vocab sizes 30..200. The
# normalization rule only matters for encoding; "identity" keeps the files small
# (nmt_nfkc stores a 237 kB character map), and one model keeps nmt_nfkc.
COMMON = ["--character_coverage=0.98", "--num_threads=1", "--random_seed=7", "--minloglevel=2"]
IDENTITY = ["--normalization_rule_name=identity"]
MODELS = {
    # unk 0, bos 1, eos 2, pad -1: the defaults, which torchaudio's LibriSpeech model has
    "unigram_default": ["--model_type=unigram", "--vocab_size=150"] + IDENTITY,
    "unigram_nfkc": ["--model_type=unigram", "--vocab_size=50", "--normalization_rule_name=nmt_nfkc"],
    "bpe_pad3": ["--model_type=bpe", "--vocab_size=120", "--pad_id=3"] + IDENTITY,
    "char_no_bos_eos": ["--model_type=char", "--bos_id=-1", "--eos_id=-1"] + IDENTITY,
    "word_small": ["--model_type=word", "--vocab_size=60"] + IDENTITY,
    # every special piece renamed and renumbered
    "unigram_custom_names": ["--model_type=unigram", "--vocab_size=100", "--unk_piece=<UNK>", "--bos_piece=[BOS]",
                             "--eos_piece=[EOS]", "--pad_piece=[PAD]", "--unk_id=3", "--bos_id=0", "--eos_id=1",
                             "--pad_id=2"] + IDENTITY,
    # TrainerSpec.pad_id stays -1, yet pad_id() is 3: the control piece "<pad>".
    # The user-defined pieces are whitespace Python's str.lstrip() removes (and
    # U+200B, which it keeps).
    "bpe_symbols": ["--model_type=bpe", "--vocab_size=100", "--control_symbols=<pad>,<x>",
                    "--user_defined_symbols=\u3000,\u00a0,\t,\u2028,\x85,\x1f,\u200b,\u2581\u2581,<sep>"] + IDENTITY,
    # a user-defined "<pad>" is no pad: pad_id() is -1
    "unigram_user_pad": ["--model_type=unigram", "--vocab_size=80", "--user_defined_symbols=<pad>,<x>"] + IDENTITY,
}


# --- protobuf wire format, just enough to edit a ModelProto ---------------------------------

def read_varint(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def varint(value):
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def fields(data):
    """[(field, wire_type, payload)] in order; payload is bytes for wire types 1, 2, 5, an int for 0."""
    out, at = [], 0
    while at < len(data):
        key, at = read_varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = read_varint(data, at)
        elif wire == 2:
            length, at = read_varint(data, at)
            value, at = data[at:at + length], at + length
        elif wire == 5:
            value, at = data[at:at + 4], at + 4
        elif wire == 1:
            value, at = data[at:at + 8], at + 8
        else:
            raise ValueError("wire type %d" % wire)
        out.append((field, wire, value))
    return out


def encode(items):
    out = bytearray()
    for field, wire, value in items:
        out += varint(field << 3 | wire)
        if wire == 0:
            out += varint(value)
        elif wire == 2:
            out += varint(len(value)) + value
        else:
            out += value
    return bytes(out)


def piece_fields(model, index):
    return fields([v for f, w, v in fields(model) if f == 1][index])


def edit_piece(model, index, text=None, type_=None):
    """The model with piece `index` given a new text and/or type (ModelProto.pieces = 1)."""
    items, seen = [], -1
    for f, w, v in fields(model):
        if f == 1:
            seen += 1
            if seen == index:
                sub = [(pf, pw, pv) for pf, pw, pv in fields(v) if not (pf == 1 and text is not None)
                       and not (pf == 3 and type_ is not None)]
                if text is not None:
                    sub.insert(0, (1, 2, text.encode()))
                if type_ is not None:
                    sub.append((3, 0, type_))
                v = encode(sub)
        items.append((f, w, v))
    return encode(items)


def edit_trainer_spec(model, names):
    """Sets TrainerSpec string fields (trainer_spec = 2): names maps field number -> bytes."""
    items = []
    for f, w, v in fields(model):
        if f == 2:
            sub = [(sf, sw, sv) for sf, sw, sv in fields(v) if sf not in names]
            sub += [(sf, 2, value) for sf, value in names.items()]
            v = encode(sub)
        items.append((f, w, v))
    return encode(items)


def drop_field(model, field):
    return encode([(f, w, v) for f, w, v in fields(model) if f != field])


def stored_types(model):
    """Piece types as the proto stores them, an unknown enum value read as NORMAL (proto2)."""
    types = []
    for f, w, v in fields(model):
        if f == 1:
            t = 1
            for pf, pw, pv in fields(v):
                if pf == 3 and 1 <= pv <= 6:
                    t = pv
            types.append(t)
    return types


# --- corpus, training -----------------------------------------------------------------------

def corpus_sentences():
    text = " ".join(open(os.path.join("/usr/share/common-licenses", name), encoding="utf-8").read()
                    for name in LICENSES)
    text = re.sub(r"\s+", " ", text)
    sentences = [s.strip() for s in re.split(r"(?<=[.;:])\s+", text)]
    return [s for s in sentences if 20 <= len(s) <= 300]


def train(name, flags, corpus, workdir):
    prefix = os.path.join(workdir, name)
    command = ["spm_train", "--input=" + corpus, "--model_prefix=" + prefix] + COMMON + flags
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return open(prefix + ".model", "rb").read()


# --- expected outputs -----------------------------------------------------------------------

def token_cases(sp, sentences, seed):
    n = sp.get_piece_size()
    specials = [i for i in (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id()) if i >= 0]
    word_starts = [i for i in range(n) if sp.id_to_piece(i).startswith("\u2581")]
    rng = random.Random(seed)
    cases = [[], [n], [0], [n, 0], [-7, 0, 1, 2, 3], [n] + specials, specials + specials]
    cases += [[n, s] for s in specials]
    cases += [[n, s, w] for s in specials for w in word_starts[:2]]
    cases += [[n] + word_starts[:3] * 2, [n, word_starts[0], word_starts[0]]]
    # ids torchaudio refuses, unless the id is in its removal set (a disabled id is -1)
    cases += [[n, 5, n], [n, n + 10], [n, -1, 5], [n, -2], [n, 5, -1]]
    for sentence in sentences:
        cases.append([n] + sp.encode(sentence))
        cases.append([n, sp.bos_id()] + sp.encode(" " + sentence) + [sp.eos_id()])
    for _ in range(40):
        length = rng.randrange(0, 14)
        pool = rng.choice([range(n), specials or range(n), word_starts or range(n)])
        first = rng.randrange(-5, n + 5)  # always dropped, in range or not
        cases.append([first] + [rng.choice(list(pool)) if rng.random() < 0.5 else rng.randrange(n)
                                for _ in range(length)])
    return cases


def detokenize_cases(path, sp, sentences, seed):
    processor = _SentencePieceTokenProcessor(path)
    out = []
    for tokens in token_cases(sp, sentences, seed):
        case = {"tokens": tokens}
        try:
            case["lstrip"] = processor(tokens)
            case["no_lstrip"] = processor(tokens, lstrip=False)
        except Exception as error:  # torchaudio raises IndexError for an id outside the vocabulary
            case = {"tokens": tokens, "error": "%s: %s" % (type(error).__name__, error)}
        out.append(case)
    return out


def describe(name, path, model, flags, sentences, seed):
    sp = spm.SentencePieceProcessor(model_file=path)
    n = sp.get_piece_size()
    types = stored_types(model)
    for i, t in enumerate(types):  # what the stored types say agrees with the processor
        assert sp.is_unknown(i) == (t == 2) and sp.is_control(i) == (t == 3), (name, i, t)
        assert sp.is_unused(i) == (t == 5) and sp.is_byte(i) == (t == 6), (name, i, t)
    return {
        "file": name + ".model",
        "how": flags,
        "pieces": [sp.id_to_piece(i) for i in range(n)],
        "scores": [sp.get_score(i) for i in range(n)],
        "types": types,
        "unk_id": sp.unk_id(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "pad_id": sp.pad_id(),
        "detokenize": detokenize_cases(path, sp, sentences, seed),
    }


def crafted(models):
    """name -> (bytes, description) for loadable edited models."""
    default, custom = models["unigram_default"], models["unigram_custom_names"]
    normal = 10  # some normal piece of the default model
    return {
        "crafted_no_trainer_spec": (drop_field(default, 2), "unigram_default without its TrainerSpec"),
        "crafted_empty_names": (edit_trainer_spec(custom, {45: b"", 46: b"", 47: b"", 48: b""}),
                                "unigram_custom_names with unk/bos/eos/pad_piece set to empty strings"),
        "crafted_nul_in_name": (edit_trainer_spec(custom, {46: b"[BOS]\0tail", 47: b"\0[EOS]"}),
                                "unigram_custom_names with bos_piece '[BOS]\\0tail', eos_piece '\\0[EOS]'"),
        "crafted_shadowed": (edit_trainer_spec(edit_piece(default, normal, text="<s>"),
                                               {45: piece_fields(default, normal + 1)[0][2],
                                                47: piece_fields(default, normal + 2)[0][2]}),
                             "unigram_default with a normal piece renamed '<s>' (the control '<s>' wins), "
                             "unk_piece and eos_piece naming normal pieces"),
        "crafted_unknown_enum": (edit_piece(default, 2, type_=9),
                                 "unigram_default with '</s>' given type 9, which proto2 drops: a normal piece"),
        "crafted_two_trainer_specs": (default + encode([(2, 2, encode([(46, 2, b"</s>"), (48, 2, b"<s>")]))]),
                                      "unigram_default followed by a second TrainerSpec with bos_piece '</s>' and "
                                      "pad_piece '<s>', merged into the first"),
    }


def invalid(models):
    default = models["unigram_default"]
    half = len(default) // 2
    rng = random.Random(99)
    return {
        "invalid_no_unknown": edit_piece(default, 0, type_=1),
        "invalid_two_unknowns": edit_piece(default, 5, type_=2),
        "invalid_duplicate_piece": edit_piece(default, 11, text=piece_fields(default, 12)[0][2].decode()),
        "invalid_empty_piece": edit_piece(default, 7, text=""),
        "invalid_truncated": default[:half],
        "invalid_random_bytes": bytes(rng.randrange(256) for _ in range(300)),
        "invalid_text": b"this is not a sentencepiece model\n",
        "invalid_empty": b"",
    }


def to_json(value, indent=""):
    """JSON with one line per scalar list and per token case, so that diffs stay readable."""
    def flat(v):
        return json.dumps(v, ensure_ascii=False)
    inner = indent + " "
    if isinstance(value, dict) and not ("tokens" in value):
        items = [inner + flat(k) + ": " + to_json(v, inner) for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(inner + to_json(v, inner) for v in value) + "\n" + indent + "]"
    return flat(value)


def main():
    if shutil.which("spm_train") is None:
        sys.exit("spm_train not found: apt-get install sentencepiece")
    os.makedirs(OUT, exist_ok=True)
    for stale in os.listdir(OUT):
        if stale.endswith(".model"):
            os.remove(os.path.join(OUT, stale))
    sentences = corpus_sentences()
    probe = [s for s in sentences if len(s) < 90][::41][:3] + ["  leading blanks, an unseen word: zyxwvq \u00e9t\u00e9"]
    expected = {"sentencepiece": spm.__version__, "torchaudio": torchaudio.__version__, "models": [], "invalid": []}
    with tempfile.TemporaryDirectory() as workdir:
        corpus = os.path.join(workdir, "corpus.txt")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(sentences) + "\n")
        models = {name: train(name, flags, corpus, workdir) for name, flags in MODELS.items()}
    described = {name: (model, "spm_train " + " ".join(MODELS[name])) for name, model in models.items()}
    described.update(crafted(models))
    for seed, (name, (model, how)) in enumerate(described.items()):
        path = os.path.join(OUT, name + ".model")
        with open(path, "wb") as f:
            f.write(model)
        expected["models"].append(describe(name, path, model, how, probe, 1000 + seed))
    for name, model in invalid(models).items():
        path = os.path.join(OUT, name + ".model")
        with open(path, "wb") as f:
            f.write(model)
        try:
            spm.SentencePieceProcessor().Load(path)
            sys.exit("%s: sentencepiece loads it, expected a refusal" % name)
        except (RuntimeError, OSError) as error:
            expected["invalid"].append({"file": name + ".model", "sentencepiece_error": str(error)})
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        f.write(to_json(expected) + "\n")
    print("wrote %d models and %d invalid files to %s" % (len(expected["models"]), len(expected["invalid"]), OUT))


if __name__ == "__main__":
    main()
