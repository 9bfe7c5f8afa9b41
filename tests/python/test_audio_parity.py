"""Live parity of ember's WAV reader and resampler against torchaudio.

    /usr/bin/python3 tests/python/test_audio_parity.py --ember PATH --scratch DIR [--wav-dump PATH]

There is no `ember` verb for audio yet, so this drives the test-only program
ember_wav_dump (tests/tools/wav_dump.cpp; ctest passes its path in the
EMBER_WAV_DUMP environment variable; --ember is accepted for the common
interface and unused). It writes WAV files of every encoding, channel count and
several rates with torchaudio.save, sox and by hand into DIR, and checks:

- reading: ember's samples equal torchaudio.load(path)[0].mean(0) exactly
  (within a rounding for the last T % 32 frames of a multi-channel file, which
  torch averages with another order of additions);
- resampling (whole signal, and streamed in random pieces):
  max |ember - torchaudio.functional.resample| <= 1e-5 per rate pair;
- every cut of a WAV file is read or refused with exit code 1, never a crash,
  and a cut inside the data reads what torchaudio reads.

Exits 0 when all pass, 1 on any failure, 77 (skipped) when torch or
torchaudio cannot be imported.
"""

import os
import shutil
import struct
import subprocess
import sys

import harness

RESAMPLE_TOLERANCE = 1e-5
TAIL_TOLERANCE = 2.5e-7
RESAMPLE_PAIRS = [(22050, 16000), (44100, 16000), (48000, 16000), (8000, 16000), (16000, 16000), (11025, 16000),
                  (32000, 16000), (96000, 16000), (16000, 8000), (44100, 48000), (8000, 44100), (12345, 16000),
                  (16000, 22050), (24000, 16000)]


def dump(tool, wav, out, rate=None, stream_seed=None):
    """Runs ember_wav_dump; returns (exit code, output text)."""
    cmd = [tool, wav, out]
    if rate is not None:
        cmd += ["--rate", str(rate)]
    if stream_seed is not None:
        cmd += ["--stream", str(stream_seed)]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def write_wavs(scratch, rng):
    """Yields the path of each WAV to read: torchaudio.save, sox and hand-made."""
    import numpy as np
    import torch
    import torchaudio

    encodings = [("PCM_U", 8), ("PCM_S", 16), ("PCM_S", 24), ("PCM_S", 32), ("PCM_F", 32), ("PCM_F", 64)]
    for i, (encoding, bits) in enumerate(encodings):
        for channels in (1, 2, 3, 6, 8, 20):
            rate = (8000, 16000, 22050, 44100, 48000)[(i + channels) % 5]
            x = rng.uniform(-1.0, 1.0, size=(channels, 2000 + 7 * i))
            if encoding == "PCM_F":
                x *= 1.3  # float files may exceed full scale; torchaudio clips on reading
                x[0, :4] = [1e-9, -3e-8, 0.5, 2.0 ** -25]
            path = os.path.join(scratch, f"{encoding}{bits}_{channels}ch_{rate}.wav")
            torchaudio.save(path, torch.from_numpy(x.astype(np.float32)), rate,
                            encoding=encoding, bits_per_sample=bits)
            yield path
    if shutil.which("sox"):
        for bits, channels in ((16, 4), (24, 2), (32, 6), (8, 3)):
            path = os.path.join(scratch, f"sox_{bits}_{channels}ch.wav")
            subprocess.run(["sox", "-R", "-D", "-n", "-r", "32000", "-c", str(channels), "-b", str(bits), path,
                            "synth", "0.05", "whitenoise", "vol", "0.7"], check=True)
            yield path
    # By hand: 32-bit PCM values around libsox's rounding and clipping points.
    values = rng.integers(-2**31, 2**31 - 1, size=3000, endpoint=True).astype("<i4")
    values[:12] = [1, 63, 64, 65, 127, 128, 191, 192, 2**31 - 1, 2**31 - 64, 2**31 - 65, -2**31]
    fmt = struct.pack("<HHIIHH", 1, 1, 16000, 64000, 4, 32)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", values.nbytes)
    path = os.path.join(scratch, "hand_s32_rounding.wav")
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", len(body) + values.nbytes) + body + values.tobytes())
    yield path


def check_reads(tool, scratch, paths, rows):
    import numpy as np
    import torchaudio

    ok = True
    for path in paths:
        name = os.path.basename(path)
        got_path = os.path.join(scratch, name + ".npy")
        code, out = dump(tool, path, got_path)
        waveform, rate = torchaudio.load(path)
        expected = waveform.mean(0).numpy()
        if code != 0:
            rows.append((name, "read", f"exit {code}", "-", "FAIL"))
            print(f"[{name}] ember_wav_dump failed:\n{out}")
            ok = False
            continue
        got = np.load(got_path)
        header_ok = out.split() == [str(rate), str(waveform.shape[0])]
        # Bit for bit, but for the last T % 32 frames, which torch sums in another order.
        bulk = got.shape[0] if waveform.shape[0] == 1 else got.shape[0] - got.shape[0] % 32
        same = (got.shape == expected.shape and np.array_equal(got[:bulk], expected[:bulk])
                and np.abs(got[bulk:] - expected[bulk:]).max(initial=0) <= TAIL_TOLERANCE)
        diff = float(np.abs(got - expected).max()) if got.shape == expected.shape and got.size else 0.0
        passed = same and header_ok
        rows.append((name, "read", f"{waveform.shape[0]}x{waveform.shape[1]} @ {rate}", f"{diff:.1e}",
                     "ok" if passed else "FAIL"))
        ok &= passed
    return ok


def check_resampling(tool, scratch, rng, rows):
    import numpy as np
    import torch
    import torchaudio

    ok = True
    for i, (orig, new) in enumerate(RESAMPLE_PAIRS):
        n = int(orig * 0.37) + i
        t = np.arange(n) / orig
        x = 0.45 * rng.uniform(-1.0, 1.0, size=n) + 0.45 * np.sin(2 * np.pi * 1000 * t)
        path = os.path.join(scratch, f"resample_{orig}.wav")
        torchaudio.save(path, torch.from_numpy(x.astype(np.float32))[None], orig, encoding="PCM_F",
                        bits_per_sample=32)
        waveform, _ = torchaudio.load(path)
        expected = torchaudio.functional.resample(waveform[0], orig, new).numpy()
        for mode, seed in (("whole", None), ("stream", 1000 + i)):
            got_path = os.path.join(scratch, f"resample_{orig}_{new}_{mode}.npy")
            code, out = dump(tool, path, got_path, rate=new, stream_seed=seed)
            if code != 0:
                rows.append((f"{orig} -> {new}", mode, f"exit {code}", "-", "FAIL"))
                print(f"[{orig} -> {new}] ember_wav_dump failed:\n{out}")
                ok = False
                continue
            got = np.load(got_path)
            if got.shape != expected.shape:
                rows.append((f"{orig} -> {new}", mode, f"{got.shape} want {expected.shape}", "-", "FAIL"))
                ok = False
                continue
            diff = float(np.abs(got.astype(np.float64) - expected).max()) if got.size else 0.0
            passed = bool(np.isfinite(got).all()) and diff <= RESAMPLE_TOLERANCE
            rows.append((f"{orig} -> {new}", mode, str(got.shape[0]), f"{diff:.1e}", "ok" if passed else "FAIL"))
            ok &= passed
    return ok


def check_cuts(tool, scratch, rows):
    """Every prefix of a small WAV: ember reads it or refuses it (exit 1), never crashes."""
    import numpy as np
    import torch
    import torchaudio

    source = os.path.join(scratch, "cut_source.wav")
    torchaudio.save(source, torch.linspace(-0.9, 0.9, 2 * 50).reshape(2, 50), 16000, encoding="PCM_S",
                    bits_per_sample=24)
    with open(source, "rb") as f:
        data = f.read()
    data_start = data.index(b"data") + 8
    cut = os.path.join(scratch, "cut.wav")
    got_path = os.path.join(scratch, "cut.npy")
    crashes, refused, read, mismatched = 0, 0, 0, 0
    for size in range(1, len(data)):
        with open(cut, "wb") as f:
            f.write(data[:size])
        code, out = dump(tool, cut, got_path)
        if code not in (0, 1):
            crashes += 1
            print(f"[cut at {size}] exit {code}:\n{out}")
        elif code == 1:
            refused += 1
        else:
            read += 1
            if size >= data_start:  # the header is whole: torchaudio reads the frames that are there
                expected = torchaudio.load(cut)[0].mean(0).numpy()
                if not np.array_equal(np.load(got_path), expected):
                    mismatched += 1
                    print(f"[cut at {size}] differs from torchaudio")
    passed = crashes == 0 and mismatched == 0
    rows.append(("cuts of a 24-bit WAV", "read", f"{read} read, {refused} refused", f"{crashes} crashes",
                 "ok" if passed else "FAIL"))
    return passed


def main():
    parser = harness.argument_parser(__doc__)
    parser.add_argument("--wav-dump", default=os.environ.get("EMBER_WAV_DUMP"))
    args = parser.parse_args()
    harness.skip_unless(["numpy", "torch", "torchaudio"])
    import numpy as np
    if not args.wav_dump or not os.path.exists(args.wav_dump):
        print("ember_wav_dump not found: pass --wav-dump PATH or set EMBER_WAV_DUMP")
        return 1
    os.makedirs(args.scratch, exist_ok=True)
    rng = np.random.default_rng(7)

    rows = []
    ok = check_reads(args.wav_dump, args.scratch, list(write_wavs(args.scratch, rng)), rows)
    ok &= check_resampling(args.wav_dump, args.scratch, rng, rows)
    ok &= check_cuts(args.wav_dump, args.scratch, rows)

    harness.print_table(rows)
    print("all passed" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
