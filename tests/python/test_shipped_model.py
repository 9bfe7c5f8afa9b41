"""The shipped model: `ember transcribe` text == torchaudio's pipeline text on the samples.

The torchaudio side is built from the .ember file itself (tests/python/ember_file.py
reads its config, weights and global stats), so the comparison needs nothing
but what the repo ships: models/tiny-en.ember, its SentencePiece model
models/tiny-en.model, and samples/*.wav. Beams 1 and 10, streaming and not, and
streaming with --carry-predictor against torchaudio's search changed likewise
(pipeline.carry_predictor), and streaming with --carry-beam against one
_search over the streaming transcriber's frames.
Every sample must also come out with some text: a model that emits nothing
proves nothing.

Run by ctest as: /usr/bin/python3 test_shipped_model.py --ember PATH --scratch DIR
Exits 77 (skipped) without torch/torchaudio/sentencepiece.
"""

import json
import os
import subprocess
import sys

import harness

BEAMS = (1, 10)
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = os.path.join(ROOT, "models", "tiny-en.ember")
SENTENCEPIECE = os.path.join(ROOT, "models", "tiny-en.model")
SAMPLES = os.path.join(ROOT, "samples")

# The token processor imports sentencepiece.
harness.skip_unless(["torch", "torchaudio", "torchaudio.pipelines.rnnt_pipeline", "sentencepiece"])
import torch  # noqa: E402
import torchaudio  # noqa: E402
from torchaudio.pipelines import rnnt_pipeline  # noqa: E402

from ember_file import emformer_rnnt_config, read_ember  # noqa: E402
from pipeline import feature_modules, load_16k, pipeline_text  # noqa: E402


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def torchaudio_model(metadata, tensors):
    config = emformer_rnnt_config(metadata)
    config.pop("blank")
    model = torchaudio.models.emformer_rnnt_model(**config)
    model.load_state_dict(tensors, strict=True)
    return model.eval(), config


def main():
    args = harness.argument_parser(__doc__).parse_args()
    os.makedirs(args.scratch, exist_ok=True)
    torch.set_num_threads(1)

    metadata, tensors = read_ember(MODEL)
    model, config = torchaudio_model(metadata, tensors)
    stats = os.path.join(args.scratch, "global_stats.json")
    with open(stats, "w") as f:
        json.dump({"mean": metadata["front_end.global_mean"],
                   "invstddev": metadata["front_end.global_invstddev"]}, f)
    extractors = feature_modules(stats, metadata["front_end.right_padding"])
    token_processor = rnnt_pipeline._SentencePieceTokenProcessor(SENTENCEPIECE)
    wavs = sorted(os.path.join(SAMPLES, name) for name in os.listdir(SAMPLES) if name.endswith(".wav"))
    assert wavs, f"no samples in {SAMPLES}"
    waveforms = [load_16k(path) for path in wavs]

    failures = 0
    for beam in BEAMS:
        for streaming, carry in ((False, None), (True, None), (True, "predictor"), (True, "beam")):
            flags = (["--beam", str(beam)] + (["--streaming"] if streaming else []) +
                     ([f"--carry-{carry}"] if carry else []))
            got = run([args.ember, "transcribe", MODEL, *wavs, "--threads", "2", *flags]).splitlines()
            if len(got) != len(wavs):
                print(f"ember printed {len(got)} lines for {len(wavs)} files")
                failures += 1
            for path, waveform, line in zip(wavs, waveforms, got):
                want = pipeline_text(model, config, extractors, token_processor, waveform, beam, streaming, carry)
                ok = line == want and want != ""
                failures += not ok
                mode = ("streaming" if streaming else "full") + (f", carry {carry}" if carry else "")
                print(f"{os.path.basename(path):24} {beam:>4} {mode:17} {'ok' if ok else 'FAIL'}  {want!r}")
                if not ok:
                    print(f"    ember:      {line!r}\n    torchaudio: {want!r}")
    if failures:
        print(f"FAILED: {failures} comparisons")
        return 1
    print("the shipped model's transcripts match torchaudio's pipeline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
