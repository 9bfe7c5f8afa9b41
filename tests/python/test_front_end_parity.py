"""Live parity of `ember features` against torchaudio's EMFORMER_RNNT_BASE feature extractors.

    /usr/bin/python3 tests/python/test_front_end_parity.py --ember PATH --scratch DIR

Makes small models (.ember with front-end settings, with and without global
stats), several waveforms (white noise, a sine sweep, espeak-ng speech, a
waveform just long enough for the reflect padding) and compares, per
waveform:

  * `ember features` with get_feature_extractor()'s output (non-streaming,
    right padding included);
  * `ember features --streaming` with the streaming loop of torchaudio's
    RNN-T tutorial run over get_streaming_feature_extractor();
  * `ember features` on a 22.05 kHz WAV of the speech with torchaudio.load +
    torchaudio.functional.resample + the feature extractor (WAV reader and
    resampler end to end);
  * that ember refuses audio too short for the reflect padding, and empty audio.

Besides the max abs difference to torchaudio (the test, tolerance 1e-3), the
table shows how far each is from the same modules run in float64: ember's FFT
computes in double, so its distance to torchaudio is mostly torchaudio's own
float32 rounding.

The extractors are torchaudio's own code: an RNNTBundle built with our
settings and global-stats file (download_asset is pointed at the local file,
since no asset can be downloaded). Entries whose pre-log value torch puts
within 1e-5 (relative) of e or e^e are left out of the comparison and
counted: _piecewise_linear_log jumps there (by 0.63 and 1.72), so a
last-bit difference in the spectrum may land on the other side.

Exits 0 when all pass, 1 on any failure, 77 (skipped) when torch or
torchaudio cannot be imported.
"""

import json
import math
import os
import shutil
import subprocess
import sys

import harness

TOLERANCE = 1e-3
SAMPLE_RATE = 16000
THRESHOLD_BAND = 1e-5

# A tiny transcriber: only its input_dim (= n_mels) matters here.
TINY_CONFIG = dict(
    input_dim=80, encoding_dim=8, num_symbols=5, segment_length=16, right_context_length=4,
    time_reduction_input_dim=8, time_reduction_stride=4, transformer_num_heads=1,
    transformer_ffn_dim=8, transformer_num_layers=1, transformer_dropout=0.0,
    transformer_activation="relu", transformer_left_context_length=0,
    transformer_max_memory_size=0, transformer_weight_init_scale_strategy=None,
    transformer_tanh_on_mem=False, symbol_embedding_dim=4, num_lstm_layers=1,
    lstm_layer_norm=False, lstm_layer_norm_epsilon=1e-5, lstm_dropout=0.0,
)


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


# ---------------------------------------------------------------- the reference


def global_stats(n_mels, seed):
    """Plausible global stats: log-mel means in [8, 20], inverse deviations in [0.15, 0.5]."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {"mean": rng.uniform(8.0, 20.0, n_mels).astype(np.float32).tolist(),
            "invstddev": rng.uniform(0.15, 0.5, n_mels).astype(np.float32).tolist()}


def feature_extractors(front_end, segment_length, right_context_length, stats_path):
    """(non-streaming, streaming) feature extractor modules, as the pipeline builds them.

    front_end: dict with sample_rate, n_fft, hop_length, n_mels, right_padding.
    With stats_path, torchaudio's own RNNTBundle.get_(streaming_)feature_extractor;
    without, the same modules minus _GlobalStatsNormalization (ember's identity).
    """
    import torch
    import torchaudio
    from torchaudio.pipelines import rnnt_pipeline as rp

    if stats_path is not None:
        bundle = rp.RNNTBundle(
            _rnnt_path="", _rnnt_factory_func=None, _global_stats_path=stats_path, _sp_model_path="",
            _right_padding=front_end["right_padding"], _blank=0, _sample_rate=front_end["sample_rate"],
            _n_fft=front_end["n_fft"], _n_mels=front_end["n_mels"], _hop_length=front_end["hop_length"],
            _segment_length=segment_length, _right_context_length=right_context_length)
        download_asset = torchaudio.utils.download_asset
        torchaudio.utils.download_asset = lambda key, *args, **kwargs: key
        try:
            return bundle.get_feature_extractor(), bundle.get_streaming_feature_extractor()
        finally:
            torchaudio.utils.download_asset = download_asset

    def modules(padding):
        mods = [
            torchaudio.transforms.MelSpectrogram(
                sample_rate=front_end["sample_rate"], n_fft=front_end["n_fft"], n_mels=front_end["n_mels"],
                hop_length=front_end["hop_length"]),
            rp._FunctionalModule(lambda x: x.transpose(1, 0)),
            rp._FunctionalModule(lambda x: rp._piecewise_linear_log(x * rp._gain)),
        ]
        if padding:
            mods.append(rp._FunctionalModule(
                lambda x: torch.nn.functional.pad(x, (0, 0, 0, front_end["right_padding"]))))
        return rp._ModuleFeatureExtractor(torch.nn.Sequential(*mods))

    return modules(True), modules(False)


def pre_log(extractor, waveform):
    """The values _piecewise_linear_log receives: MelSpectrogram(x)^T * gain, (frames, n_mels)."""
    import torch
    from torchaudio.pipelines import rnnt_pipeline as rp

    with torch.no_grad():
        return (extractor.pipeline[0](waveform).transpose(1, 0) * rp._gain).numpy()


def reference_features(extractor, waveform):
    """extractor(waveform), the same computed in float64 (the float32 input's exact
    features, near enough) and the mask of entries near the log's jumps, (rows, n_mels)."""
    import copy

    import numpy as np
    import torch

    with torch.no_grad():
        features, length = extractor(torch.from_numpy(waveform))
        exact, _ = copy.deepcopy(extractor).double()(torch.from_numpy(waveform).double())
    features = features.numpy()
    assert length.item() == features.shape[0]
    near = near_jumps(pre_log(extractor, torch.from_numpy(waveform)))
    mask = np.zeros(features.shape, dtype=bool)
    mask[: near.shape[0]] = near
    return features, exact.numpy(), mask


def near_jumps(x):
    import numpy as np

    x = x.astype(np.float64)
    return (np.abs(x / math.e - 1.0) < THRESHOLD_BAND) | (np.abs(x / math.exp(math.e) - 1.0) < THRESHOLD_BAND)


def reference_streaming(extractor, waveform, segment_length, right_context_length, hop_length):
    """The streaming loop of torchaudio's RNN-T tutorial / RNNTBundle docs, segments concatenated."""
    import numpy as np
    import torch

    segment = segment_length * hop_length
    window = segment + right_context_length * hop_length
    wave = torch.from_numpy(waveform)
    outputs, exacts, masks = [], [], []
    for idx in range(0, len(wave), segment):
        piece = wave[idx: idx + window]
        piece = torch.nn.functional.pad(piece, (0, window - len(piece)))
        features, exact, mask = reference_features(extractor, piece.numpy())
        outputs.append(features)
        exacts.append(exact)
        masks.append(mask)
    return np.concatenate(outputs), np.concatenate(exacts), np.concatenate(masks)


# ---------------------------------------------------------------- the waveforms


def waveforms(scratch):
    """name -> float32 waveform at 16 kHz."""
    import numpy as np

    rng = np.random.default_rng(7)
    out = {}
    out["noise"] = (0.1 * rng.standard_normal(21923)).astype(np.float32)
    t = np.arange(32003) / SAMPLE_RATE
    f0, f1, duration = 50.0, 7900.0, t[-1]
    phase = 2 * np.pi * f0 * duration / math.log(f1 / f0) * (np.exp(t / duration * math.log(f1 / f0)) - 1)
    # A pure tone's Hann leakage falls 140 dB and more below the frame's peak, where torch's
    # own float32 arithmetic is rounding noise: its float64 result differs there by up to
    # 0.63 after the log (6e-3 with white noise 74 dB below the tone, 6e-4 at 54 dB). A
    # noise floor 30 dB down, as a recording has, keeps every mel band well above it.
    out["sweep"] = (0.1 * np.sin(phase) + 3e-3 * rng.standard_normal(t.size)).astype(np.float32)
    speech = speech_waveform(scratch)
    if speech is not None:
        out["speech"] = speech
    # Just long enough for the reflect padding (n_fft/2 + 1 samples): 2 frames.
    out["shortest"] = (0.3 * rng.standard_normal(201)).astype(np.float32)
    # Quiet: most mel energies fall in the log's linear pieces (x <= e^e).
    out["quiet"] = (3e-6 * rng.standard_normal(8000)).astype(np.float32)
    return out


SPEECH_TEXT = "The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore."


def speech_wav_22k(scratch):
    """espeak-ng's WAV (22.05 kHz, 16-bit), or None when espeak-ng is missing."""
    if shutil.which("espeak-ng") is None:
        return None
    path = os.path.join(scratch, "speech_22k.wav")
    with open(path, "wb") as f:
        subprocess.run(["espeak-ng", "--stdout", SPEECH_TEXT], stdout=f, check=True)
    return path


def speech_waveform(scratch):
    """The espeak-ng speech converted to 16 kHz float by sox (numpy reads the raw floats)."""
    import numpy as np

    wav = speech_wav_22k(scratch)
    if wav is None or shutil.which("sox") is None:
        print("espeak-ng or sox missing: no speech waveform (install them with scripts/install_deps.sh --test)")
        return None
    raw = os.path.join(scratch, "speech_16k.f32")
    subprocess.run(["sox", wav, "-r", str(SAMPLE_RATE), "-e", "floating-point", "-b", "32", "-t", "raw", raw],
                   check=True)
    return np.fromfile(raw, dtype="<f4").astype(np.float32)


# ---------------------------------------------------------------- the checks


def make_model(scratch, ember, name, n_mels, stats):
    """Writes and converts a tiny model whose front end has n_mels; returns (path, stats path or None)."""
    import torch

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import reference

    config = dict(TINY_CONFIG, input_dim=n_mels)
    case = os.path.join(scratch, name)
    os.makedirs(case, exist_ok=True)
    model = reference.build_model(config, seed=3)
    torch.save(model.state_dict(), os.path.join(case, "model.pt"))
    with open(os.path.join(case, "config.json"), "w") as f:
        json.dump(config, f)
    out = os.path.join(case, "model.ember")
    cmd = [ember, "convert", "--checkpoint", os.path.join(case, "model.pt"),
           "--config", os.path.join(case, "config.json"), "-o", out]
    stats_path = None
    if stats is not None:
        stats_path = os.path.join(case, "global_stats.json")
        with open(stats_path, "w") as f:
            json.dump(stats, f)
        cmd += ["--global-stats", stats_path]
    code, text = run(cmd)
    if code != 0:
        raise RuntimeError(f"ember convert failed:\n{text}")
    return out, stats_path


def max_abs_diff(got, expected, mask):
    import numpy as np

    diff = np.abs(got.astype(np.float64) - expected)
    diff[mask] = 0.0
    return float(diff.max()) if diff.size else 0.0


def check_features(ember, model, audio_path, out_path, flags, reference, rows, name, mode):
    """Runs `ember features`; compares with reference = (torch float32, torch float64, mask)."""
    import numpy as np

    expected, exact, mask = reference
    if os.path.exists(out_path):
        os.remove(out_path)
    code, text = run([ember, "features", model, "--audio", audio_path, "--out", out_path] + flags)
    got = np.load(out_path) if code == 0 and os.path.exists(out_path) else None
    if got is None or got.shape != expected.shape:
        shape = f"exit {code}" if got is None else f"{got.shape} want {expected.shape}"
        rows.append((name, mode, shape, "-", "-", "-", "-", "FAIL"))
        print(text)
        return False
    worst = max_abs_diff(got, expected, mask)
    ok = bool(np.isfinite(got).all()) and worst <= TOLERANCE
    rows.append((name, mode, str(got.shape), f"{worst:.2e}", f"{max_abs_diff(got, exact, mask):.2e}",
                 f"{max_abs_diff(expected, exact, mask):.2e}", str(int(mask.sum())), "ok" if ok else "FAIL"))
    return ok


def check_refusal(ember, model, audio_path, out_path, words, rows, name):
    if os.path.exists(out_path):
        os.remove(out_path)
    code, text = run([ember, "features", model, "--audio", audio_path, "--out", out_path])
    ok = code == 1 and not os.path.exists(out_path) and all(w in text.lower() for w in words)
    rows.append((name, "refused" if code == 1 else f"exit {code}", "-", "-", "-", "-", "-", "ok" if ok else "FAIL"))
    if not ok:
        print(f"[{name}] expected exit 1 mentioning {words}, got exit {code}:\n{text}")
    return ok


def main():
    args = harness.argument_parser(__doc__).parse_args()
    harness.skip_unless(["numpy", "torch", "torchaudio"])
    import numpy as np
    import torch
    import torchaudio
    sys.dont_write_bytecode = True
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, tolerance {TOLERANCE:g}")
    os.makedirs(args.scratch, exist_ok=True)

    seg, rc = TINY_CONFIG["segment_length"], TINY_CONFIG["right_context_length"]
    base = dict(sample_rate=SAMPLE_RATE, n_fft=400, hop_length=160, right_padding=4)
    models = [("stats80", 80, global_stats(80, seed=11)), ("nostats40", 40, None)]
    waves = waveforms(args.scratch)
    rows, all_ok = [], True
    for model_name, n_mels, stats in models:
        model, stats_path = make_model(args.scratch, args.ember, model_name, n_mels, stats)
        front_end = dict(base, n_mels=n_mels)
        full, streaming = feature_extractors(front_end, seg, rc, stats_path)
        for wave_name, wave in waves.items():
            name = f"{model_name}/{wave_name}"
            audio = os.path.join(args.scratch, f"{wave_name}.npy")
            np.save(audio, wave)
            all_ok &= check_features(args.ember, model, audio, os.path.join(args.scratch, "got.npy"), [],
                                     reference_features(full, wave), rows, name, "full")
            all_ok &= check_features(args.ember, model, audio, os.path.join(args.scratch, "got.npy"),
                                     ["--streaming"], reference_streaming(streaming, wave, seg, rc,
                                                                          base["hop_length"]),
                                     rows, name, "streaming")

        wav = speech_wav_22k(args.scratch)
        if wav is not None:
            waveform, rate = torchaudio.load(wav)
            wave = torchaudio.functional.resample(waveform.mean(0), rate, SAMPLE_RATE).numpy()
            all_ok &= check_features(args.ember, model, wav, os.path.join(args.scratch, "got.npy"), [],
                                     reference_features(full, wave), rows, f"{model_name}/speech_22k.wav",
                                     "full")

        too_short = os.path.join(args.scratch, "too_short.npy")
        np.save(too_short, np.full(base["n_fft"] // 2, 0.1, dtype=np.float32))
        all_ok &= check_refusal(args.ember, model, too_short, os.path.join(args.scratch, "got.npy"),
                                ["too short", "200"], rows, f"{model_name}/200 samples")
        empty = os.path.join(args.scratch, "empty.npy")
        np.save(empty, np.zeros(0, dtype=np.float32))
        all_ok &= check_refusal(args.ember, model, empty, os.path.join(args.scratch, "got.npy"),
                                ["empty"], rows, f"{model_name}/empty")

    # max abs diff: ember vs torchaudio (float32), the test; the two columns after it put it in
    # scale: ember vs torchaudio's modules run in float64, and torchaudio float32 vs float64.
    header = ("model/waveform", "mode", "shape", "max abs diff", "ember-f64", "torch-f64", "near jumps", "")
    harness.print_table(rows, header)
    if not all_ok:
        print("FAILED")
        return 1
    print("all front-end checks pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
