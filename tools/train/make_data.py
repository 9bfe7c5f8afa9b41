"""Synthetic speech for the tiny English model: fortunes sentences spoken by espeak-ng.

    /usr/bin/python3 tools/train/make_data.py [--out /work/ember-train/data] [--seed 1] [--wordnet]
                                              [--definitions N] [--reuse]

Needs the Debian packages `fortunes`, `espeak-ng` and `sox` (and `wordnet-base`
for --wordnet and --definitions). Writes, under --out:

    wav/<set>/<n>.wav   16 kHz mono 16-bit
    train.tsv           path<TAB>text, held-out sentences and held-out voice excluded
    test.tsv            held-out sentences, spoken by training voices
    test_voice.tsv      the same held-out sentences, spoken by the held-out voice
    train_fortunes.tsv  the fortunes' lines of train.tsv (without the extra text)
    train400.tsv        every 34th line of train_fortunes.tsv, 400 of them: how well
                        the model knows its own training text (the model card's
                        "training subset")
    meta.tsv            path, voice, speed, pitch, speed factor, SNR of every utterance
    summary.txt         counts, hours, generation speed, test words unseen in training

Each sentence is spoken once (training) by one voice drawn from
BASES x VARIANTS with a random espeak speed (-s) and pitch (-p); then sox
resamples to 16 kHz with a small speed perturbation on some utterances, and
Gaussian noise at 20-30 dB SNR is added to some. Everything is drawn from a
random generator seeded by (--seed, set, index), and sox runs in repeatable
mode (-R: its dither is seeded), so the output is bit-identical for the same
seed whatever the number of processes.

--wordnet adds WordNet's usage examples (sentences.extract_wordnet_examples)
to the training set only, as the set train_wordnet (its own seeds and
directory): the fortunes' utterances, the held-out sentences and both test
sets are the same files, bit for bit, as without it. --definitions N adds N of
WordNet's definitions (sentences.extract_wordnet_definitions), drawn with the
seed, as the set train_definitions, in the same way.

--reuse keeps every WAV already under --out instead of synthesising it again
(a WAV is written under a temporary name and renamed when complete, so one
that exists is whole): adding a set to a directory made before, or finishing
an interrupted run, costs only the new utterances. Generation is
deterministic, so the files are those a full run would write.
"""

import argparse
import multiprocessing
import os
import random
import subprocess
import sys
import time
import wave

import numpy as np

from sentences import extract_sentences, extract_wordnet_definitions, extract_wordnet_examples

SAMPLE_RATE = 16000
BASES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
         "en-gb-x-gbcwmd", "en-029", "en-us-nyc"]
VARIANTS = ["", "f1", "f2", "f3", "f4", "m1", "m2", "m3", "m4", "m5", "m6", "m7",
            "m8", "klatt", "klatt2", "klatt3", "adam", "anika", "belinda",
            "benjamin", "caleb", "david", "edward", "linda", "max", "paul",
            "robert", "steph", "zac", "grandma", "grandpa", "quincy", "travis"]
HELD_OUT_VOICE = "en-us+f5"  # variant f5 is in no training voice
SPEED_RANGE = (130, 190)      # espeak -s, words per minute
PITCH_RANGE = (25, 75)        # espeak -p, 0-99
SOX_SPEED_PROB, SOX_SPEED_RANGE = 0.5, (0.9, 1.1)
NOISE_PROB, SNR_RANGE_DB = 0.5, (20.0, 30.0)
TRAIN_SUBSET_EVERY = 34       # train400.tsv: 400 of the fortunes' 13,888 training lines


def voice_name(base, variant):
    return base + ("+" + variant if variant else "")


TRAIN_VOICES = [voice_name(b, v) for b in BASES for v in VARIANTS]


def draw_job(seed, set_name, index, text, out_dir, voice=None):
    """Every random choice for one utterance, from its own seeded generator."""
    rng = random.Random(f"{seed}/{set_name}/{index}")
    job = {
        "path": os.path.join(out_dir, "wav", set_name, f"{index:06d}.wav"),
        "text": text,
        "voice": voice or rng.choice(TRAIN_VOICES),
        "speed": rng.randint(*SPEED_RANGE),
        "pitch": rng.randint(*PITCH_RANGE),
        "factor": 1.0,
        "snr": None,
        "noise_seed": rng.getrandbits(32),
    }
    if set_name.startswith("train"):  # augmentation on training audio only
        if rng.random() < SOX_SPEED_PROB:
            job["factor"] = round(rng.uniform(*SOX_SPEED_RANGE), 3)
        if rng.random() < NOISE_PROB:
            job["snr"] = round(rng.uniform(*SNR_RANGE_DB), 1)
    return job


def wav_seconds(path):
    with wave.open(path, "rb") as w:
        return w.getnframes() / w.getframerate()


def synthesise(job):
    """espeak-ng -> sox (16 kHz, speed) -> noise -> WAV. Returns (path, seconds, synthesised)."""
    if job["reuse"] and os.path.exists(job["path"]):
        return job["path"], wav_seconds(job["path"]), False
    espeak = subprocess.run(
        ["espeak-ng", "-v", job["voice"], "-s", str(job["speed"]),
         "-p", str(job["pitch"]), "--stdout", job["text"]],
        check=True, capture_output=True).stdout
    sox_cmd = ["sox", "-R", "-t", "wav", "-", "-t", "raw", "-e", "signed", "-b", "16",
               "-c", "1", "-r", str(SAMPLE_RATE), "-"]
    if job["factor"] != 1.0:
        sox_cmd += ["speed", str(job["factor"])]
    raw = subprocess.run(sox_cmd, input=espeak, check=True,
                         capture_output=True).stdout
    audio = np.frombuffer(raw, dtype=np.int16).astype(np.float64)
    if job["snr"] is not None:
        rng = np.random.default_rng(job["noise_seed"])
        power = np.mean(audio ** 2) if audio.size else 0.0
        noise_power = power / (10.0 ** (job["snr"] / 10.0))
        audio = audio + rng.normal(0.0, np.sqrt(noise_power), audio.shape)
    samples = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    partial = job["path"] + ".partial"
    with wave.open(partial, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(samples.tobytes())
    os.replace(partial, job["path"])
    return job["path"], samples.size / SAMPLE_RATE, True


def split_sentences(sentences, seed, num_test):
    """Shuffle deterministically; the first num_test are held out."""
    order = list(sentences)
    random.Random(f"{seed}/split").shuffle(order)
    return order[num_test:], order[:num_test]


def write_manifest(path, jobs):
    with open(path, "w") as f:
        for job in jobs:
            f.write(f"{job['path']}\t{job['text']}\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default="/work/ember-train/data")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--jobs", type=int, default=2, help="synthesis processes")
    p.add_argument("--num-test", type=int, default=400,
                   help="held-out sentences")
    p.add_argument("--max-train", type=int, default=0,
                   help="cap on training sentences from the fortunes (0: all)")
    p.add_argument("--wordnet", action="store_true",
                   help="also train on WordNet's usage examples (Debian's wordnet-base)")
    p.add_argument("--definitions", type=int, default=0, metavar="N",
                   help="also train on N of WordNet's definitions, drawn with the seed")
    p.add_argument("--reuse", action="store_true",
                   help="keep the WAVs already under --out rather than synthesising them again")
    args = p.parse_args()
    if args.definitions < 0:
        p.error("--definitions must be 0 or more")

    sentences = extract_sentences()
    train_text, test_text = split_sentences(sentences, args.seed, args.num_test)
    if args.max_train:
        train_text = train_text[:args.max_train]
    # Examples that are also fortunes (held out or not) are left to the fortunes.
    fortunes = set(sentences)
    examples = [t for t in extract_wordnet_examples() if t not in fortunes] if args.wordnet else []
    definitions = []
    if args.definitions:
        taken = fortunes | set(examples)
        pool = [t for t in extract_wordnet_definitions() if t not in taken]
        if args.definitions > len(pool):
            raise SystemExit(f"--definitions {args.definitions}: WordNet has {len(pool)} usable ones")
        definitions = sorted(random.Random(f"{args.seed}/definitions").sample(pool, args.definitions))
    extra_text = examples + definitions
    sets = {
        "train": [draw_job(args.seed, "train", i, t, args.out) for i, t in enumerate(train_text)]
                 + [draw_job(args.seed, "train_wordnet", i, t, args.out) for i, t in enumerate(examples)]
                 + [draw_job(args.seed, "train_definitions", i, t, args.out)
                    for i, t in enumerate(definitions)],
        "test": [draw_job(args.seed, "test", i, t, args.out)
                 for i, t in enumerate(test_text)],
        "test_voice": [draw_job(args.seed, "test_voice", i, t, args.out,
                                voice=HELD_OUT_VOICE)
                       for i, t in enumerate(test_text)],
    }
    all_jobs = [dict(j, reuse=args.reuse) for jobs in sets.values() for j in jobs]
    for directory in {os.path.dirname(j["path"]) for j in all_jobs}:
        os.makedirs(directory, exist_ok=True)
    start = time.time()
    seconds, synthesised = {}, {}
    with multiprocessing.Pool(args.jobs) as pool:
        for n, (path, dur, made) in enumerate(pool.imap(synthesise, all_jobs, chunksize=16), 1):
            seconds[path], synthesised[path] = dur, made
            if n % 1000 == 0 or n == len(all_jobs):
                el = time.time() - start
                print(f"{n}/{len(all_jobs)} utterances, "
                      f"{sum(seconds.values()) / 3600:.2f} h audio, {el:.0f} s",
                      flush=True)
    elapsed = time.time() - start

    for name, jobs in sets.items():
        write_manifest(os.path.join(args.out, f"{name}.tsv"), jobs)
    fortune_jobs = sets["train"][:len(train_text)]
    write_manifest(os.path.join(args.out, "train_fortunes.tsv"), fortune_jobs)
    write_manifest(os.path.join(args.out, "train400.tsv"), fortune_jobs[TRAIN_SUBSET_EVERY - 1::TRAIN_SUBSET_EVERY][:400])
    with open(os.path.join(args.out, "meta.tsv"), "w") as f:
        f.write("path\tvoice\tspeed\tpitch\tfactor\tsnr_db\tseconds\n")
        for j in all_jobs:
            f.write(f"{j['path']}\t{j['voice']}\t{j['speed']}\t{j['pitch']}\t"
                    f"{j['factor']}\t{j['snr'] if j['snr'] is not None else ''}\t"
                    f"{seconds[j['path']]:.3f}\n")

    train_words = {w for t in train_text + extra_text for w in t.split()}
    test_words = [w for t in test_text for w in t.split()]
    unseen = sum(w not in train_words for w in test_words) / max(1, len(test_words))
    hours = {n: sum(seconds[j["path"]] for j in js) / 3600 for n, js in sets.items()}
    lines = [f"seed {args.seed}, {len(sentences)} usable sentences from fortunes"
             + (f", {len(examples)} WordNet examples for training" if args.wordnet else "")
             + (f", {len(definitions)} WordNet definitions for training" if definitions else ""),
             f"training voices: {len(TRAIN_VOICES)}; held-out voice: {HELD_OUT_VOICE}"]
    lines += [f"{n}: {len(js)} utterances, {hours[n]:.2f} h" for n, js in sets.items()]
    made = [p for p, m in synthesised.items() if m]
    made_hours = sum(seconds[p] for p in made) / 3600
    lines += [f"test words never in training text: {100 * unseen:.1f}%",
              f"synthesised {len(made)} utterances ({made_hours:.2f} h) "
              f"in {elapsed / 60:.1f} min with {args.jobs} processes: "
              f"{len(made) / (elapsed / 60):.0f} utterances/min, "
              f"{made_hours * 60 / (elapsed / 60):.1f} min of audio/min"]
    if len(made) < len(all_jobs):
        lines.append(f"reused {len(all_jobs) - len(made)} utterances already under {args.out}")
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    sys.exit(main())
