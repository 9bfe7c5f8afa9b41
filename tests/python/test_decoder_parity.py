"""Live parity of `ember decode` against torchaudio's RNNTBeamSearch.

    /usr/bin/python3 tests/python/test_decoder_parity.py --ember PATH --scratch DIR [--only NAME ...]

For every case in configs.DECODE_CONFIGS (the ~300 MB base preset included) this writes
model.pt / config.json / features.npy and torchaudio's hypotheses (expected_decode.json, see
decode_reference.py) into DIR/<case>/, runs `ember convert`, then `ember decode --json` for
every beam in decode_reference.BEAMS, non-streaming and streaming, and compares: the same
number of hypotheses (per chunk when streaming), identical tokens in the same order, scores
within SCORE_TOLERANCE * max(1, |score|); and the best hypothesis must emit within the case's
frames_per_token band and at least one token per MAX_FRAMES_PER_TOKEN encoder frames.
Exits 0 when all pass, 1 on any failure, 77 (skipped) when torch or torchaudio cannot be
imported.
"""

import json
import math
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import case_runner  # noqa: E402

SCORE_TOLERANCE = 1e-3
MAX_FRAMES_PER_TOKEN = 10
DEFAULT_TEMPERATURE = 1.0  # RNNTBeamSearch's defaults; flags are passed only when they differ
DEFAULT_STEP_MAX_TOKENS = 100


def run(cmd):
    """Runs cmd; returns (exit code, stdout, stderr, seconds)."""
    start = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def decode_flags(expected, run_):
    """`ember decode` options for one run of a case."""
    flags = ["--beam", str(run_["beam"])]
    if run_["streaming"]:
        flags.append("--streaming")
    if expected["temperature"] != DEFAULT_TEMPERATURE:
        flags += ["--temperature", repr(expected["temperature"])]
    if expected["step_max_tokens"] != DEFAULT_STEP_MAX_TOKENS:
        flags += ["--step-max-tokens", str(expected["step_max_tokens"])]
    return flags + ["--json"]


def compare_hypotheses(got, want, where):
    """Returns (worst relative score difference, list of problems) for two hypothesis lists."""
    if not isinstance(got, list):
        return math.inf, [f"{where}: hypotheses is not a list"]
    if len(got) != len(want):
        return math.inf, [f"{where}: {len(got)} hypotheses, want {len(want)}"]
    worst, problems = 0.0, []
    for i, (g, w) in enumerate(zip(got, want)):
        if g.get("tokens") != w["tokens"]:
            problems.append(f"{where} hypothesis {i}: tokens {g.get('tokens')}, want {w['tokens']}")
            continue
        score = g.get("score")
        diff = abs(score - w["score"]) / max(1.0, abs(w["score"])) if isinstance(score, (int, float)) else math.inf
        if not diff <= SCORE_TOLERANCE:
            problems.append(f"{where} hypothesis {i}: score {score}, want {w['score']}")
        worst = max(worst, diff)
    return worst, problems


def check_run(got, expected, run_):
    """Compares ember's parsed output with one expected run; returns (emitted, worst, problems)."""
    if run_["streaming"]:
        chunks = got.get("chunks")
        if not isinstance(chunks, list) or len(chunks) != len(run_["chunks"]):
            n = len(chunks) if isinstance(chunks, list) else "no"
            return 0, math.inf, [f"{n} chunks, want {len(run_['chunks'])}"]
        worst, problems = 0.0, []
        for k, (g, w) in enumerate(zip(chunks, run_["chunks"])):
            diff, p = compare_hypotheses(g.get("hypotheses"), w["hypotheses"], f"chunk {k}")
            worst, problems = max(worst, diff), problems + p
        if problems:
            return 0, worst, problems
        emitted = sum(len(c["hypotheses"][0]["tokens"]) - 1 for c in chunks)
    else:
        worst, problems = compare_hypotheses(got.get("hypotheses"), run_["hypotheses"], "full")
        if problems:
            return 0, worst, problems
        emitted = len(got["hypotheses"][0]["tokens"]) - 1

    frames = run_["encoder_frames"]
    lo, hi = expected["frames_per_token"]
    if emitted * MAX_FRAMES_PER_TOKEN < frames or not lo <= frames / emitted <= hi:
        problems.append(f"best hypothesis emits {emitted} tokens in {frames} encoder frames, "
                        f"want {lo} to {min(hi, MAX_FRAMES_PER_TOKEN)} frames per token")
    return emitted, worst, problems


def check_case(ember, scratch, case, rows):
    """Writes, converts, decodes and compares one case; appends table rows; returns ok."""
    import decode_reference

    start = time.monotonic()
    case_dir, expected = decode_reference.write_decode_case(scratch, case)
    print(f"[{case.name}] torchaudio reference written in {time.monotonic() - start:.1f} s "
          f"(seed {expected['seed']}, smallest relative gap {expected['smallest_relative_gap']:.1e})",
          flush=True)

    model = os.path.join(case_dir, "model.ember")
    if os.path.exists(model):
        os.remove(model)
    code, out, err, seconds = run([ember, "convert", "--checkpoint", os.path.join(case_dir, "model.pt"),
                                   "--config", os.path.join(case_dir, "config.json"), "-o", model])
    if code != 0 or not os.path.exists(model):
        rows.append((case.name, "-", "convert", f"exit {code}", "-", "FAIL"))
        print(f"[{case.name}] ember convert failed or wrote no {model}:\n{out}{err}")
        return False
    print(f"[{case.name}] ember convert: {seconds:.2f} s", flush=True)

    all_ok = True
    features = os.path.join(case_dir, "features.npy")
    for run_ in expected["runs"]:
        mode = "streaming" if run_["streaming"] else "full"
        code, out, err, seconds = run([ember, "decode", model, "--features", features]
                                      + decode_flags(expected, run_))
        if code != 0:
            rows.append((case.name, run_["beam"], mode, f"exit {code}", "-", "FAIL"))
            print(f"[{case.name}] beam {run_['beam']} {mode}: ember decode exit {code}:\n{out}{err}")
            all_ok = False
            continue
        try:
            got = json.loads(out)
        except ValueError as e:
            rows.append((case.name, run_["beam"], mode, "bad JSON", "-", "FAIL"))
            print(f"[{case.name}] beam {run_['beam']} {mode}: {e}:\n{out[:2000]}")
            all_ok = False
            continue
        emitted, worst, problems = check_run(got, expected, run_)
        ok = not problems
        shown = f"{emitted}/{run_['encoder_frames']}" if ok else f"want {run_['emitted']}/{run_['encoder_frames']}"
        rows.append((case.name, run_["beam"], mode, shown, f"{worst:.1e}", "ok" if ok else "FAIL"))
        for problem in problems[:5]:
            print(f"[{case.name}] beam {run_['beam']} {mode}: {problem}")
        print(f"[{case.name}] ember decode beam {run_['beam']} {mode}: {seconds:.2f} s", flush=True)
        all_ok &= ok
    return all_ok


def main():
    header = ("config", "beam", "mode", "emitted/frames", "worst score diff", "")
    return case_runner.run_cases(__doc__, "DECODE_CONFIGS", check_case, header,
                                 f"score tolerance {SCORE_TOLERANCE:g} x max(1, |score|)")


if __name__ == "__main__":
    sys.exit(main())
