"""Features exactly as torchaudio 0.13.1's RNN-T pipeline computes them.

`EMFORMER_RNNT_BASE_LIBRISPEECH.get_feature_extractor()` is
MelSpectrogram(16 kHz, n_fft 400, hop 160, 80 mels) -> transpose to (T, 80)
-> piecewise-linear log of x * gain -> (x - mean) * invstddev (global stats)
-> right padding by the right context (4 frames) with zeros.
This module repeats that chain (the pipeline's own helpers are private) and
reads WAV files without any audio backend.
"""

import json
import math
import wave

import numpy as np
import torch
import torchaudio

SAMPLE_RATE = 16000
N_FFT, HOP_LENGTH, N_MELS = 400, 160, 80
RIGHT_PADDING = 4

_DECIBEL = 2 * 20 * math.log10(torch.iinfo(torch.int16).max)
_GAIN = pow(10, 0.05 * _DECIBEL)

_mel = torchaudio.transforms.MelSpectrogram(
    sample_rate=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, hop_length=HOP_LENGTH)


def read_wav(path):
    """16 kHz mono 16-bit WAV -> float32 tensor (samples,) in [-1, 1), like torchaudio.load."""
    with wave.open(path, "rb") as w:
        if w.getframerate() != SAMPLE_RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16 kHz mono 16-bit")
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return torch.from_numpy(data.astype(np.float32) / 32768.0)


def num_frames(path):
    """Number of feature frames of a WAV, from its header only."""
    with wave.open(path, "rb") as w:
        return w.getnframes() // HOP_LENGTH + 1


def piecewise_linear_log(x):
    """torchaudio's _piecewise_linear_log, quirk included: the second mask is
    taken on the updated values, so log(x) <= e is divided by e as well."""
    x = x.clone()
    x[x > math.e] = torch.log(x[x > math.e])
    x[x <= math.e] = x[x <= math.e] / math.e
    return x


def log_mel(waveform):
    """(samples,) -> un-normalised features (T, 80)."""
    with torch.no_grad():
        return piecewise_linear_log(_mel(waveform).transpose(1, 0) * _GAIN)


def load_global_stats(path):
    with open(path) as f:
        blob = json.load(f)
    return torch.tensor(blob["mean"]), torch.tensor(blob["invstddev"])


def features(waveform, mean, invstddev, right_padding=RIGHT_PADDING):
    """(samples,) -> normalised features (T + right_padding, 80), as the pipeline."""
    x = (log_mel(waveform) - mean) * invstddev
    return torch.nn.functional.pad(x, (0, 0, 0, right_padding))


def streaming_features(waveform, mean, invstddev, segment_length, right_context_length):
    """(samples,) -> the features the pipeline's streaming loop computes.

    The loop (pipelines/rnnt_pipeline.py's streaming example, which ember's
    streaming front end mirrors) takes windows of segment + right context
    hops, every segment hops, zero-padded at the end, and computes each
    window's features on their own (the STFT reflect-pads at both window
    edges). Returns (segments (chunks x segment_length, 80): every window's
    first segment_length frames, right_context (chunks x right_context_length,
    80): the next right_context_length frames of each window), which the
    model sees as its utterance and as the right context of each segment.
    """
    step = segment_length * HOP_LENGTH
    window = (segment_length + right_context_length) * HOP_LENGTH
    chunks = max(1, math.ceil(len(waveform) / step))
    padded = torch.nn.functional.pad(waveform, (0, (chunks - 1) * step + window - len(waveform)))
    windows = padded.unfold(0, window, step)  # (chunks, window)
    with torch.no_grad():
        x = piecewise_linear_log(_mel(windows).transpose(1, 2) * _GAIN)
    x = (x - mean) * invstddev  # (chunks, frames per window, 80)
    segments = x[:, :segment_length].reshape(-1, N_MELS)
    right_context = x[:, segment_length:segment_length + right_context_length].reshape(-1, N_MELS)
    return segments, right_context
