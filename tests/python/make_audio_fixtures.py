"""Writes the committed audio fixtures in tests/fixtures/audio/ (about 150 KB).

    /usr/bin/python3 tests/python/make_audio_fixtures.py [--out DIR]

WAV files of every encoding ember reads, written by Python's `wave` module,
by hand (headers built byte by byte), by torchaudio.save and by sox, each with
NAME.npy = torchaudio.load(NAME.wav)[0].mean(0): what ember::read_wav must
return. The sample rates and channel counts are listed in tests/test_wav.cpp.

For the resampler: resample_in_R.npy (a 0.1 s signal at R Hz) and
resample_R_to_16000.npy = torchaudio.functional.resample(input, R, 16000).

Needs torch, torchaudio and the sox program; deterministic (fixed seeds).
"""

import argparse
import os
import shutil
import struct
import subprocess
import wave

import numpy as np
import torch
import torchaudio

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "fixtures", "audio")

PCM, FLOAT, EXTENSIBLE = 1, 3, 0xFFFE
GUID_TAIL = bytes([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71])
RESAMPLE_RATES = [22050, 44100, 48000, 8000, 16000, 11025, 32000]


def chunk(tag, body):
    """One RIFF chunk, with its pad byte when the body is odd-sized."""
    return tag + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def fmt_chunk(tag, channels, rate, bits, valid_bits=None, subformat=None, mask=0):
    block_align = channels * bits // 8
    body = struct.pack("<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits)
    if tag == EXTENSIBLE:
        body += struct.pack("<HHIH", 22, valid_bits, mask, subformat) + GUID_TAIL
    return chunk(b"fmt ", body)


def riff(chunks, riff_size=None):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


def with_wave_module(path, width, channels, rate, frames):
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)


def noise_ints(rng, bits, count):
    """Signed integers of `bits` bits, the extremes included."""
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    values = rng.integers(lo, hi, size=count, endpoint=True)
    values[:4] = [lo, hi, 0, -1]
    return values


def int24_bytes(values):
    as32 = np.asarray(values, dtype="<i4").view(np.uint8).reshape(-1, 4)
    return as32[:, :3].tobytes()


def write_wavs(out, rng):
    """Writes the WAV fixtures; returns their names."""
    names = []

    def save(name, data):
        with open(os.path.join(out, name + ".wav"), "wb") as f:
            f.write(data)
        names.append(name)

    # Python's wave module: integer PCM, 8 (unsigned) to 32 bits.
    u8 = rng.integers(0, 255, size=800, endpoint=True).astype(np.uint8)
    u8[:3] = [0, 255, 128]
    with_wave_module(os.path.join(out, "pcm_u8_mono_16000.wav"), 1, 1, 16000, u8.tobytes())
    names.append("pcm_u8_mono_16000")
    s16 = noise_ints(rng, 16, 2 * 800).astype("<i2")
    with_wave_module(os.path.join(out, "pcm_s16_stereo_16000.wav"), 2, 2, 16000, s16.tobytes())
    names.append("pcm_s16_stereo_16000")
    with_wave_module(os.path.join(out, "pcm_s24_mono_16000.wav"), 3, 1, 16000, int24_bytes(noise_ints(rng, 24, 800)))
    names.append("pcm_s24_mono_16000")
    # 32-bit: libsox rounds to 25 bits (ties upwards) and clips near full scale.
    s32 = noise_ints(rng, 32, 800).astype("<i4")
    s32[4:14] = [1, 63, 64, 65, 191, 192, 2**31 - 64, 2**31 - 65, -65, -64]
    with_wave_module(os.path.join(out, "pcm_s32_mono_16000.wav"), 4, 1, 16000, s32.tobytes())
    names.append("pcm_s32_mono_16000")

    # Hand-rolled: IEEE float (with a fact chunk), out-of-range values included.
    f32 = rng.uniform(-1.2, 1.2, size=800).astype("<f4")
    f32[:8] = [1.5, -2.0, np.inf, -np.inf, 1e-9, 3e-8, 1.0, -1.0]
    save("float32_mono_16000", riff([fmt_chunk(FLOAT, 1, 16000, 32), chunk(b"fact", struct.pack("<I", 800)),
                                     chunk(b"data", f32.tobytes())]))
    f64 = rng.uniform(-1.0, 1.0, size=2 * 400).astype("<f8")
    save("float64_stereo_8000", riff([fmt_chunk(FLOAT, 2, 8000, 64), chunk(b"data", f64.tobytes())]))
    # WAVE_FORMAT_EXTENSIBLE: 20 valid bits in 24-bit containers (MSB-aligned), 5.1.
    s20 = noise_ints(rng, 20, 6 * 480) * 16
    save("extensible_s24_6ch_48000", riff([fmt_chunk(EXTENSIBLE, 6, 48000, 24, 20, PCM, 0x3F),
                                           chunk(b"data", int24_bytes(s20))]))
    ef32 = rng.uniform(-1.0, 1.0, size=2 * 441).astype("<f4")
    save("extensible_f32_stereo_44100", riff([fmt_chunk(EXTENSIBLE, 2, 44100, 32, 32, FLOAT, 0x3),
                                              chunk(b"data", ef32.tobytes())]))
    # Channel means whose float32 rounding depends on torch's order of additions:
    # full-scale values and values at the bottom of libsox's 2^-24 grid.
    for channels, frames in ((5, 300), (40, 100)):
        mix = rng.choice([0.75, 0.5, -0.25, 2.0 ** -24, 3 * 2.0 ** -24], size=channels * frames)
        save(f"float32_{channels}ch_16000", riff([fmt_chunk(FLOAT, channels, 16000, 32),
                                                  chunk(b"data", mix.astype("<f4").tobytes())]))
    # An odd-sized LIST chunk (with its pad byte) and an unknown chunk before data.
    s16 = noise_ints(rng, 16, 500).astype("<i2")
    save("list_odd_chunk_16000", riff([fmt_chunk(PCM, 1, 16000, 16),
                                       chunk(b"LIST", b"INFOISFT\x05\0\0\0ember"),
                                       chunk(b"junk", b"\1\2\3"), chunk(b"data", s16.tobytes())]))
    # Streamed: RIFF and data sizes 0xFFFFFFFF; the data runs to the end of the file.
    s16 = noise_ints(rng, 16, 2 * 300).astype("<i2")
    fmt = fmt_chunk(PCM, 2, 16000, 16)
    save("streamed_stereo_16000", riff([fmt, b"data" + struct.pack("<I", 0xFFFFFFFF) + s16.tobytes()], 0xFFFFFFFF))
    # Cut short: data claims 4000 bytes, 1203 are there (300 frames and a partial one).
    s16 = noise_ints(rng, 16, 2 * 300).astype("<i2")
    save("truncated_stereo_16000", riff([fmt, b"data" + struct.pack("<I", 4000) + s16.tobytes() + b"\x7f\x01\x02"]))
    # RF64: sizes in the ds64 chunk.
    s16 = noise_ints(rng, 16, 400).astype("<i2")
    ds64 = chunk(b"ds64", struct.pack("<QQQI", 0xFFFFFFFF, s16.nbytes, 400, 0))
    body = b"WAVE" + ds64 + fmt_chunk(PCM, 1, 16000, 16) + b"data" + struct.pack("<I", 0xFFFFFFFF) + s16.tobytes()
    with open(os.path.join(out, "rf64_mono_16000.wav"), "wb") as f:
        f.write(b"RF64" + struct.pack("<I", 0xFFFFFFFF) + body)
    names.append("rf64_mono_16000")

    # torchaudio.save, at 22.05 kHz.
    x = torch.from_numpy(rng.uniform(-0.8, 0.8, size=(2, 1100)).astype(np.float32))
    torchaudio.save(os.path.join(out, "torchaudio_s16_stereo_22050.wav"), x, 22050,
                    encoding="PCM_S", bits_per_sample=16)
    names.append("torchaudio_s16_stereo_22050")

    # sox: six channels of 16-bit PCM (sox writes WAVE_FORMAT_EXTENSIBLE for them).
    path = os.path.join(out, "sox_s16_6ch_22050.wav")
    subprocess.run(["sox", "-R", "-D", "-n", "-r", "22050", "-c", "6", "-b", "16", "-e", "signed-integer", path,
                    "synth", "0.03", "sine", "300", "sine", "500", "square", "700", "saw", "900",
                    "whitenoise", "sine", "1100", "vol", "0.5"], check=True)
    names.append("sox_s16_6ch_22050")
    return names


def write_resample_cases(out, rng):
    for rate in RESAMPLE_RATES:
        n = rate // 10 + 7
        t = np.arange(n) / rate
        x = 0.5 * rng.uniform(-1.0, 1.0, size=n) + 0.4 * np.sin(2 * np.pi * 440 * t)
        x = x.astype(np.float32)
        x[0], x[-1] = 1.0, -1.0  # full scale at both padded edges
        y = torchaudio.functional.resample(torch.from_numpy(x), rate, 16000).numpy()
        np.save(os.path.join(out, f"resample_in_{rate}.npy"), x)
        np.save(os.path.join(out, f"resample_{rate}_to_16000.npy"), np.ascontiguousarray(y, dtype=np.float32))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    args = parser.parse_args()
    if shutil.which("sox") is None:
        raise SystemExit("make_audio_fixtures.py needs the sox program (apt-get install sox)")
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(20240613)
    for name in write_wavs(args.out, rng):
        waveform, rate = torchaudio.load(os.path.join(args.out, name + ".wav"))
        np.save(os.path.join(args.out, name + ".npy"), waveform.mean(0).numpy().astype(np.float32))
        print(f"{name}.wav: {waveform.shape[0]} channels, {waveform.shape[1]} frames at {rate} Hz")
    write_resample_cases(args.out, rng)
    total = sum(os.path.getsize(os.path.join(args.out, f)) for f in os.listdir(args.out))
    print(f"wrote {args.out}: {total / 1000:.0f} KB")


if __name__ == "__main__":
    main()
