#!/usr/bin/python3
"""ember against torchaudio 0.13.1, one thread each, on the same random-weight
emformer_rnnt_base and the same features; prints medians and ratios.

    /usr/bin/python3 bench/compare_torchaudio.py --ember build/tools/ember [--seconds 30] [--repeats 3]
        [--streams 16]

The model is emformer_rnnt_base(4097) with random weights (tests/python/reference.py),
its joiner scaled and its blank logit raised so that the search emits a token
every few encoder frames, as a trained model does (the rate is printed, with a
warning when streaming beam 10 is outside 3-8 encoder frames per token). It is saved, converted with
`ember convert`, and both sides run the same S seconds of standard-normal
features. Each repetition runs torchaudio in a fresh process (this script with
--torch-child), then `ember bench --json` in a fresh process, back to back.

Streams per core, batched (--streams S, 0 to skip): S streams' chunks stacked
into one transcriber call per step, encoder only (torchaudio's RNNTBeamSearch
takes one utterance at a time), over --streams-seconds of random features:
S x audio time / CPU time, how many streams one core keeps in real time;
torchaudio's transcribe_streaming on a batch of S against `ember bench
--streams S`.

Times are thread CPU time: both sides run one thread, and on a shared machine
wall time also counts the time other processes held the core (wall-time ratios
are printed too). The torchaudio process is pinned to one thread with
torch.set_num_threads(1) and OMP_NUM_THREADS=OPENBLAS_NUM_THREADS=1 (Debian's
torch calls the system BLAS, OpenBLAS when libopenblas0 is installed), and
given the OpenBLAS kernels this CPU runs (OPENBLAS_CORETYPE, unless set
already: Debian's OpenBLAS 0.3.21 falls back to its SSE3 kernels on CPUs it
does not know; tests/python/openblas_core.py). The kernels torchaudio ran on
are printed.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "python"))
from openblas_core import loaded_core_name, openblas_environment  # noqa: E402
CONFIG = {"preset": "base", "num_symbols": 4097}
BLANK = 4096
SEED = 2024
JOINER_GAIN = 8.0
BLANK_LOGIT_BIAS = 13.5  # with gain 8; see the emission note in README.md (Performance)
BEAM = 10

# (key, label, issue 5 target as a torchaudio / ember ratio, or None)
MEASURES = [
    ("stream_encoder_ms", "streaming encoder, ms per chunk", 4.0),
    ("stream_beam_ms", "streaming beam 10 end to end, ms per chunk", 6.0),
    ("whole_beam_s", "non-streaming beam 10, s for the whole input", 3.0),
    ("load_ms", "model load, ms", None),
    ("rss_mb", "peak RSS streaming, MB", None),
]


def one_thread_env():
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.update(openblas_environment())
    return env


def clocks():
    return time.perf_counter(), time.thread_time()


def since(start):
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def peak_rss_kib():
    """VmHWM of this process. Not ru_maxrss: Linux carries that across execve,
    so a child would report its parent's footprint at fork time."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def torch_child(work, seconds, streams, streams_seconds):
    """Runs in a fresh process: loads the model as a torchaudio user would and
    measures it; prints one JSON object."""
    import numpy as np
    import torch
    import torchaudio
    from torchaudio.models import RNNTBeamSearch

    torch.set_num_threads(1)
    import reference

    features = np.load(os.path.join(work, "features.npy"))
    out = {"torch": torch.__version__, "torchaudio": torchaudio.__version__, "blas": loaded_core_name()}
    with torch.no_grad():
        start = clocks()
        model = torchaudio.models.emformer_rnnt_base(num_symbols=CONFIG["num_symbols"])
        model.load_state_dict(torch.load(os.path.join(work, "model.pt")))
        model.eval()
        out["load_ms"] = 1e3 * since(start)[0]

        seg, rc = 16, 4
        chunks = [torch.from_numpy(c)[None] for c in reference.streaming_chunks(features, CONFIG)]
        length = torch.tensor([seg + rc])
        encoder, state = [], None
        for chunk in chunks:
            start = clocks()
            _, _, state = model.transcribe_streaming(chunk, length, state)
            encoder.append(since(start))
        decoder = RNNTBeamSearch(model, BLANK)
        beam, state, hypothesis = [], None, None
        for chunk in chunks:
            start = clocks()
            hypotheses, state = decoder.infer(chunk, length, BEAM, state=state, hypothesis=hypothesis)
            hypothesis = hypotheses[0]
            beam.append(since(start))
        out["stream_tokens"] = len(hypothesis[0]) - 1  # tokens of the last chunk's best (seed excluded)
        out["rss_streaming_kib"] = peak_rss_kib()

        start = clocks()
        hypotheses = decoder(torch.from_numpy(features)[None], torch.tensor([features.shape[0]]), BEAM)
        whole = since(start)
        out["whole_tokens"] = len(hypotheses[0][0]) - 1

        if streams:
            frames = int(round(streams_seconds * 100)) + rc
            stream_chunks = reference.streaming_chunks(reference.random_features(frames, 80, SEED + 2), CONFIG)
            lengths = torch.full((streams,), seg + rc)
            state, cpu = None, 0.0
            for chunk in stream_chunks:
                batch = torch.from_numpy(chunk)[None].expand(streams, -1, -1).contiguous()
                start = clocks()
                _, _, state = model.transcribe_streaming(batch, lengths, state)
                cpu += since(start)[1]
            out["streams_per_core"] = {"cpu": streams * len(stream_chunks) * seg * 0.01 / cpu}
    for name, series in (("stream_encoder", encoder), ("stream_beam", beam)):
        out[name + "_ms"] = {"wall": 1e3 * statistics.median(w for w, _ in series),
                             "cpu": 1e3 * statistics.median(c for _, c in series)}
    out["whole_beam_s"] = {"wall": whole[0], "cpu": whole[1]}
    json.dump(out, sys.stdout)


def prepare(work, ember, seconds):
    """model.pt, config.json and features.npy in `work` (reused when present),
    and model.ember, converted afresh by the `ember` being measured (so that it
    is in that ember's current format)."""
    import reference

    frames = int(round(seconds * 100)) + 4  # 10 ms frames + the right context
    features_path = os.path.join(work, "features.npy")
    stamp = os.path.join(work, "stamp.json")
    wanted = {"seed": SEED, "gain": JOINER_GAIN, "bias": BLANK_LOGIT_BIAS, "frames": frames}
    if not (os.path.exists(stamp) and json.load(open(stamp)) == wanted):
        print(f"building emformer_rnnt_base (seed {SEED}, joiner gain {JOINER_GAIN}, blank bias "
              f"{BLANK_LOGIT_BIAS}) and {seconds:g} s of features in {work}", file=sys.stderr)
        model = reference.build_model(CONFIG, SEED, joiner_gain=JOINER_GAIN, blank_logit_bias=BLANK_LOGIT_BIAS)
        reference.write_inputs(work, model, CONFIG, reference.random_features(frames, 80, SEED + 1))
        json.dump(wanted, open(stamp, "w"))
    assert os.path.exists(features_path)
    subprocess.run([ember, "convert", "--checkpoint", os.path.join(work, "model.pt"), "--config",
                    os.path.join(work, "config.json"), "-o", os.path.join(work, "model.ember")], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_torch(work, seconds, streams, streams_seconds):
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-child", "--work", work,
                             "--seconds", str(seconds), "--streams", str(streams),
                             "--streams-seconds", str(streams_seconds)],
                            check=True, capture_output=True, text=True, env=one_thread_env())
    out = json.loads(result.stdout)
    out["rss_mb"] = {"wall": out["rss_streaming_kib"] * 1024 / 1e6}
    out["load_ms"] = {"wall": out["load_ms"]}
    return out


def run_ember(work, ember, streams, streams_seconds):
    result = subprocess.run([ember, "bench", os.path.join(work, "model.ember"), "--features",
                             os.path.join(work, "features.npy"), "--beam", str(BEAM), "--json"],
                            check=True, capture_output=True, text=True, env=one_thread_env())
    b = json.loads(result.stdout)
    encoder_only = next(s for s in b["streaming"] if s["beam"] == 0)
    beam = next(s for s in b["streaming"] if s["beam"] == BEAM)
    whole = next(w for w in b["whole"] if w["beam"] == BEAM)
    return {
        "stream_encoder_ms": encoder_only["encoder_median"],
        "stream_beam_ms": beam["chunk_median"],
        "whole_beam_s": {k: v / 1e3 for k, v in whole["total"].items()},
        "load_ms": {"wall": b["load_ms"]},
        "rss_mb": {"wall": b["peak_rss_streaming_bytes"] / 1e6},
        "file_mb": b["file_bytes"] / 1e6,
        "isa": b["isa"],
        "frames_per_token": b["encoder_frames"] / max(beam["tokens"], 1),
        "whole_frames_per_token": (b["encoder_frames"]) / max(whole["tokens"], 1),
    } | (ember_streams_per_core(work, ember, streams, streams_seconds) if streams else {})


def ember_streams_per_core(work, ember, streams, streams_seconds):
    """`ember bench --streams S` on random features, encoder only (beam 1 is the
    least search it runs beside it)."""
    result = subprocess.run([ember, "bench", os.path.join(work, "model.ember"), "--seconds", str(streams_seconds),
                             "--beam", "1", "--streams", str(streams), "--json"],
                            check=True, capture_output=True, text=True, env=one_thread_env())
    batched = json.loads(result.stdout)["streams_per_core_batched_encoder"]
    return {"streams_per_core": {"cpu": batched["cpu"], "wall": batched["wall"]}}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ember", default=os.path.join(HERE, "..", "build", "tools", "ember"))
    parser.add_argument("--work", default="/tmp/ember-compare", help="scratch directory (model files, ~0.6 GB)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--streams", type=int, default=16,
                        help="streams batched for streams per core, encoder only (0: not measured)")
    parser.add_argument("--streams-seconds", type=float, default=10.0,
                        help="seconds of random features per stream for streams per core")
    parser.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.streams < 0 or args.streams_seconds <= 0:
        parser.error("--streams must be >= 0 and --streams-seconds > 0")
    if args.torch_child:
        torch_child(args.work, args.seconds, args.streams, args.streams_seconds)
        return
    os.makedirs(args.work, exist_ok=True)
    ember = os.path.abspath(args.ember)
    prepare(args.work, ember, args.seconds)

    runs = {"torchaudio": [], "ember": []}
    for r in range(args.repeats):
        print(f"repetition {r + 1}/{args.repeats}: torchaudio ...", file=sys.stderr, flush=True)
        runs["torchaudio"].append(run_torch(args.work, args.seconds, args.streams, args.streams_seconds))
        print(f"repetition {r + 1}/{args.repeats}: ember ...", file=sys.stderr, flush=True)
        runs["ember"].append(run_ember(args.work, ember, args.streams, args.streams_seconds))

    e0 = runs["ember"][0]
    fpt = e0["frames_per_token"]
    print(f"emformer_rnnt_base, random weights, {args.seconds:g} s of features; ember {e0['isa']} kernels, "
          f"{e0['file_mb']:.1f} MB file; {args.repeats} repetitions, medians; times are thread CPU time "
          "(wall in brackets)")
    blas = runs["torchaudio"][0]["blas"]
    print(f"torchaudio {runs['torchaudio'][0]['torchaudio']} on torch {runs['torchaudio'][0]['torch']}, "
          + (f"OpenBLAS with its {blas} kernels" if blas else "its BLAS not OpenBLAS"))
    print(f"emission: streaming beam 10 emits one token per {fpt:.1f} encoder frames "
          f"(non-streaming: {e0['whole_frames_per_token']:.1f})")
    if not 3.0 <= fpt <= 8.0:
        print("warning: emission rate outside 3-8 frames per token", file=sys.stderr)

    def med(side, key, clock):
        values = [run[key].get(clock) for run in runs[side]]
        return statistics.median(values) if None not in values else None

    print("\n| measure | torchaudio | ember | ratio (torchaudio / ember) | target |")
    print("|---|---|---|---|---|")
    for key, label, target in MEASURES:
        clock = "cpu" if "cpu" in runs["ember"][0][key] else "wall"
        t, e = med("torchaudio", key, clock), med("ember", key, clock)
        tw, ew = med("torchaudio", key, "wall"), med("ember", key, "wall")
        ratio = f"{t / e:.2f}x"
        if clock == "cpu":
            t_text, e_text = f"{t:.1f} ({tw:.1f})", f"{e:.1f} ({ew:.1f})"
            ratio += f" ({tw / ew:.2f}x)"
        else:
            t_text, e_text = f"{t:.1f}", f"{e:.1f}"
        print(f"| {label} | {t_text} | {e_text} | {ratio} | {'>= %gx' % target if target else ''} |")
    if args.streams:
        t, e = med("torchaudio", "streams_per_core", "cpu"), med("ember", "streams_per_core", "cpu")
        print(f"| streams per core, {args.streams} batched, encoder only | {t:.1f} | {e:.1f} | "
              f"{e / t:.2f}x (ember / torchaudio) | >= 40 streams |")
    print(f"\nember peak RSS / file size: {med('ember', 'rss_mb', 'wall') / e0['file_mb']:.2f} (target <= 1.2); "
          f"load {med('ember', 'load_ms', 'wall'):.1f} ms (target <= 200 ms)")
    print("raw:", json.dumps(runs), file=sys.stderr)


if __name__ == "__main__":
    main()
