"""End to end: `ember transcribe` text == torchaudio's RNNTBundle pipeline text.

A random-weight Emformer RNN-T (joiner scaled and blank raised so that it emits a
token every few frames) with a SentencePiece vocabulary trained here by spm_train,
global stats computed from the test audio, and speech made by espeak-ng at
22.05 kHz (so ember's resampler is exercised: the torchaudio side resamples with
torchaudio.functional.resample). Non-streaming: get_feature_extractor ->
RNNTBeamSearch.forward -> token processor. Streaming: the pipeline's streaming
loop (segments -> streaming feature extractor -> infer with state and the best
hypothesis -> token processor with lstrip=False, appended, stripped at the end).
Beams 1 and 10, both modes, and streaming with --carry-beam (one _search over
the streaming transcriber's frames).

Run by ctest as: /usr/bin/python3 test_transcribe_parity.py --ember PATH --scratch DIR
Exits 77 (skipped) without torch/torchaudio/sentencepiece, spm_train or espeak-ng.
"""

import json
import os
import subprocess
import sys

import harness

BEAMS = (1, 10)
SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "speech recognition on a small computer is not hard",
    "she sells sea shells by the sea shore every morning",
]

# The token processor imports sentencepiece.
harness.skip_unless(["torch", "torchaudio", "torchaudio.pipelines.rnnt_pipeline", "sentencepiece"],
                    tools=["spm_train", "espeak-ng"])
import torch  # noqa: E402
import torchaudio  # noqa: E402
from torchaudio.pipelines import rnnt_pipeline  # noqa: E402

import reference  # noqa: E402
from pipeline import feature_modules, load_16k, pipeline_text  # noqa: E402

VOCAB_SIZE = 60
PREDICTOR_GAIN = 0.1
CONFIG = dict(
    input_dim=80, encoding_dim=48, num_symbols=VOCAB_SIZE + 1, segment_length=16, right_context_length=4,
    time_reduction_input_dim=16, time_reduction_stride=4, transformer_num_heads=4, transformer_ffn_dim=96,
    transformer_num_layers=3, transformer_dropout=0.1, transformer_activation="gelu",
    transformer_left_context_length=8, transformer_max_memory_size=0,
    transformer_weight_init_scale_strategy="depthwise", transformer_tanh_on_mem=True,
    symbol_embedding_dim=24, num_lstm_layers=2, lstm_layer_norm=True, lstm_layer_norm_epsilon=1e-3,
    lstm_dropout=0.3,
)


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def train_sentencepiece(scratch):
    text = os.path.join(scratch, "text.txt")
    with open(text, "w") as f:
        words = " ".join(SENTENCES).split()
        for i in range(400):  # enough lines for spm_train, deterministic
            f.write(" ".join(words[(i * 7 + j) % len(words)] for j in range(9)) + "\n")
    prefix = os.path.join(scratch, "spm")
    run(["spm_train", f"--input={text}", f"--model_prefix={prefix}", f"--vocab_size={VOCAB_SIZE}",
         "--model_type=bpe", "--num_threads=1", "--minloglevel=2"])
    return prefix + ".model"


def make_speech(scratch):
    paths = []
    for i, sentence in enumerate(SENTENCES):
        path = os.path.join(scratch, f"speech{i}.wav")
        run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", path, sentence])  # 22050 Hz, 16-bit
        paths.append(path)
    return paths


def write_global_stats(waveforms, path):
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=400, n_mels=80, hop_length=160)
    feats = torch.cat([rnnt_pipeline._piecewise_linear_log(mel(w).transpose(1, 0) * rnnt_pipeline._gain)
                       for w in waveforms])
    mean = feats.mean(0)
    invstddev = 1.0 / feats.std(0).clamp(min=1e-3)
    with open(path, "w") as f:
        json.dump({"mean": mean.tolist(), "invstddev": invstddev.tolist()}, f)


def main():
    args = harness.argument_parser(__doc__).parse_args()
    os.makedirs(args.scratch, exist_ok=True)
    torch.set_num_threads(1)

    spm_model = train_sentencepiece(args.scratch)
    wavs = make_speech(args.scratch)
    waveforms = [load_16k(p) for p in wavs]
    stats = os.path.join(args.scratch, "global_stats.json")
    write_global_stats(waveforms, stats)

    model = reference.build_model(CONFIG, seed=4242, joiner_gain=6.0, blank_logit_bias=2.5)
    # Quieten the predictor so that the tokens follow the audio (the encoder)
    # rather than repeating whatever the last token was, as a trained model would.
    with torch.no_grad():
        model.predictor.output_layer_norm.weight.mul_(PREDICTOR_GAIN)
        model.predictor.output_layer_norm.bias.mul_(PREDICTOR_GAIN)
    checkpoint = os.path.join(args.scratch, "model.pt")
    torch.save(model.state_dict(), checkpoint)
    config_path = os.path.join(args.scratch, "config.json")
    with open(config_path, "w") as f:
        json.dump(CONFIG, f)
    ember_model = os.path.join(args.scratch, "model.ember")
    run([args.ember, "convert", "--checkpoint", checkpoint, "--config", config_path, "--global-stats", stats,
         "--sentencepiece", spm_model, "-o", ember_model])

    extractors = feature_modules(stats, CONFIG["right_context_length"])
    token_processor = rnnt_pipeline._SentencePieceTokenProcessor(spm_model)
    failures = 0
    print(f"{'file':12} {'beam':>4} {'mode':14} tokens/frames")
    for beam in BEAMS:
        for streaming, carry in ((False, None), (True, None), (True, "beam")):
            flags = (["--beam", str(beam)] + (["--streaming"] if streaming else []) +
                     ([f"--carry-{carry}"] if carry else []))
            got = run([args.ember, "transcribe", ember_model, *wavs, "--threads", "2", *flags]).splitlines()
            finals = [json.loads(line) for line in run(
                [args.ember, "transcribe", ember_model, *wavs, *flags, "--json"]).splitlines()
                if "partial" not in json.loads(line)]
            for path, waveform, line, final in zip(wavs, waveforms, got, finals):
                want = pipeline_text(model, CONFIG, extractors, token_processor, waveform, beam, streaming, carry)
                # A decoder that emits nothing proves nothing: at least a token
                # per 10 encoder frames of 40 ms.
                frames = len(waveform) / 16000 / 0.04
                emitted = len(final["tokens"])
                ok = line == want and final["text"] == want and emitted >= frames / 10
                failures += not ok
                mode = ("streaming" if streaming else "full") + (f"+{carry}" if carry else "")
                print(f"{os.path.basename(path):12} {beam:>4} {mode:14} {emitted:>4}/{frames:<4.0f} "
                      f"{'ok' if ok else 'FAIL'}  {want!r}")
                if not ok:
                    print(f"    ember:      {line!r}\n    torchaudio: {want!r}")
            if len(got) != len(wavs):
                print(f"    ember printed {len(got)} lines for {len(wavs)} files")
                failures += 1
    # Raw PCM on standard input (the live path) gives the same text as the WAV file.
    import wave
    with wave.open(wavs[0]) as w:
        rate, pcm = w.getframerate(), w.readframes(w.getnframes())
    for streaming in (False, True):
        flags = ["--streaming"] if streaming else []
        from_file = run([args.ember, "transcribe", ember_model, wavs[0], *flags]).strip()
        proc = subprocess.run([args.ember, "transcribe", ember_model, "-", "--raw-rate", str(rate),
                               "--raw-format", "s16le", *flags], input=pcm, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        from_stdin = proc.stdout.decode().strip()
        ok = proc.returncode == 0 and from_stdin == from_file and from_file
        failures += not ok
        print(f"standard input ({'streaming' if streaming else 'full'}): {'ok' if ok else 'FAIL'}")
        if not ok:
            print(f"    file:  {from_file!r}\n    stdin: {from_stdin!r} {proc.stderr.decode()!r}")
    if failures:
        print(f"FAILED: {failures} comparisons")
        return 1
    print("all transcripts match torchaudio's pipeline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
