"""Train the small Emformer RNN-T on the synthetic speech; resumes by itself.

    nohup nice -n 19 /usr/bin/python3 tools/train/train.py \
        [--data /work/ember-train/data] [--ckpt-dir /work/ember-train/checkpoints] \
        [--init-from models/tiny-en.ember] &

Expects in --data: train.tsv, test.tsv, test_voice.tsv (make_data.py),
global_stats.json (compute_stats.py) and spm_char.model (train_spm.py).

Recipe (issue 6): model.CONFIG; loss = (RNN-T + 0.4 CTC) / target tokens;
half the batches (--streaming-fraction) with whole-utterance features, half
with the streaming loop's per-window features and per-segment right context
(features.streaming_features; check_streaming.py shows the training forward
then equals streaming inference);
Adam (0.9, 0.98), peak lr 2e-3 after 250 linear warm-up steps, cosine decay to
zero at the last step of --epochs; first epoch shortest-first, later epochs
shuffled batches of similar length; at most --max-frames padded feature
frames per batch; gradient norm clipped at 5.

Writes to --ckpt-dir:
    latest.pt        every --checkpoint-minutes and at each epoch end; the
                     next run starts from it (same step, epoch, batch)
    best.pt          the weights with the lowest held-out WER so far
    curve.tsv        step, epoch, rnnt, ctc, loss, lr, elapsed_s, every --log-every steps
    eval.tsv         greedy WER/CER on the first --eval-size utterances of
                     test.tsv and test_voice.tsv, every --eval-every steps
    epochs.tsv       step, epoch, batches and elapsed_s at the end of each epoch
With --init-from, a new run (an empty --ckpt-dir) starts from the weights of
a converted model instead of a random init: this is how the shipped model is
trained further once its checkpoints are gone (the .ember holds every weight
of the plain model exactly; the CTC head and Adam's moments start fresh;
--shuffled-first skips the shortest-first epoch, which is for a random init).
With --continue-from, a new run starts from another run's latest.pt instead:
weights, CTC head and Adam's moments, so that a new schedule (or new data,
--data) spends its warm-up on the learning rate alone; it starts at epoch 1
(shuffled batches), since shortest-first is for a random init.
elapsed_s counts training time across runs (time after the last checkpoint
of a killed run is lost and not counted).

--threads N runs N processes of one thread each, each on its share of every
batch, their gradients summed (torch.distributed, gloo) before one clipped
Adam step that every process takes alike: the step is the same for any N.
Measured on 2 cores: one process of 2 threads ran no faster than one of 1
thread (PyTorch's threads and OpenBLAS's own fought over the cores, and its
per-head bmm loops fell apart); 2 processes of 1 thread did the same 6 steps'
work 2.05x as fast, and a real run its first 20 steps 1.7x as fast (waiting
for the slower half of each batch, and the gradients' exchange); those
measurements ran on OpenBLAS's SSE3 fallback kernels. With its AVX-512 ones
(below) the same processes took 1.1-1.4 s per step of the real run against
~3. The first process is rank 0 (it logs, evaluates and checkpoints); the
others exit with it, so kill the PID nohup gave.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "python"))
from openblas_core import openblas_environment  # noqa: E402

# Before torch loads OpenBLAS: one BLAS thread per process (see --threads above),
# and the kernels this CPU runs (Debian's OpenBLAS falls back to SSE3 ones on
# CPUs it does not know: training steps took twice as long on this machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.update(openblas_environment())

import argparse
import ctypes
import datetime
import math
import random
import signal
import socket
import time

import sentencepiece as spm
import torch
import torch.distributed as dist
import torch.multiprocessing
import torchaudio

from evaluate import evaluate
from features import features, load_global_stats, num_frames, read_wav, streaming_features
from manifest import read_manifest
from model import BLANK, CONFIG, Trainable
from ember_file import emformer_rnnt_config, read_ember  # noqa: E402

SEGMENT = CONFIG["segment_length"]
RIGHT_CONTEXT = CONFIG["right_context_length"]


def make_batches(items, order, max_frames):
    """Greedy batches in the given order; padded size (n x longest) <= max_frames."""
    batches, batch, longest = [], [], 0
    for i in order:
        frames = items[i]["frames"] + RIGHT_CONTEXT
        if batch and (len(batch) + 1) * max(longest, frames) > max_frames:
            batches.append(batch)
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, frames)
    if batch:
        batches.append(batch)
    return batches


def epoch_batches(items, epoch, seed, max_frames):
    """Epoch 0: shortest first. Later: sorted by jittered length, batch order shuffled."""
    if epoch == 0:
        order = sorted(range(len(items)), key=lambda i: items[i]["frames"])
        return make_batches(items, order, max_frames)
    rng = random.Random(f"{seed}/epoch/{epoch}")
    keys = [it["frames"] * rng.uniform(0.9, 1.1) for it in items]
    order = sorted(range(len(items)), key=lambda i: keys[i])
    batches = make_batches(items, order, max_frames)
    rng.shuffle(batches)
    return batches


def collate(batch_items, mean, invstddev, streaming):
    """-> sources (B, T + right context, 80), source lengths (B,) unpadded,
    targets (B, U) int32, target lengths (B,) int32, and right context: None
    for whole-utterance features (the non-streaming pipeline), or, for the
    streaming loop's per-window features, each segment's own right context
    (B, segments x right context, 80)."""
    waves = [read_wav(it["path"]) for it in batch_items]
    right_context = None
    if streaming:
        pieces = [streaming_features(w, mean, invstddev, SEGMENT, RIGHT_CONTEXT) for w in waves]
        # The last segment's right context also pads the utterance, as in torchaudio's training input.
        feats = [torch.cat([segments, rc[-RIGHT_CONTEXT:]]) for segments, rc in pieces]
        right_context = torch.nn.utils.rnn.pad_sequence([rc for _, rc in pieces], batch_first=True)
    else:
        feats = [features(w, mean, invstddev) for w in waves]
    sources = torch.nn.utils.rnn.pad_sequence(feats, batch_first=True)
    source_lengths = torch.tensor([f.shape[0] - RIGHT_CONTEXT for f in feats], dtype=torch.int32)
    targets = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(it["tokens"], dtype=torch.int32) for it in batch_items], batch_first=True)
    target_lengths = torch.tensor([len(it["tokens"]) for it in batch_items], dtype=torch.int32)
    return sources, source_lengths, targets, target_lengths, right_context


def init_weights(model, path):
    """Load an .ember model's weights into model.rnnt; its config must be CONFIG."""
    metadata, tensors = read_ember(path)
    stored = emformer_rnnt_config(metadata)
    differ = {k: (stored.get(k), v) for k, v in CONFIG.items() if stored.get(k) != v}
    if differ:
        raise SystemExit(f"{path}: config differs from model.CONFIG (stored, expected): {differ}")
    model.rnnt.load_state_dict(tensors)  # strict: every weight of the plain model, nothing else


def learning_rate(step, peak, warmup, total):
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * 0.5 * (1.0 + math.cos(math.pi * progress))


def save(path, payload):
    tmp = path + ".tmp"
    torch.save(payload, tmp)
    os.replace(tmp, path)


def truncate_tsv(path, header, max_step):
    """Keep the header and the rows up to max_step (a resumed run rewrites the rest)."""
    rows = []
    if os.path.exists(path):
        with open(path) as f:
            rows = [l for l in f.read().splitlines()[1:] if l and int(l.split("\t")[0]) <= max_step]
    with open(path, "w") as f:
        f.write(header + "\n" + "".join(r + "\n" for r in rows))


def append_tsv(path, values):
    with open(path, "a") as f:
        f.write("\t".join(str(v) for v in values) + "\n")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default="/work/ember-train/data")
    p.add_argument("--ckpt-dir", default="/work/ember-train/checkpoints")
    p.add_argument("--epochs", type=int, default=10, help="sets the length of the cosine schedule")
    p.add_argument("--schedule-steps", type=int, default=0,
                   help="end the cosine schedule, and training, at this step instead of at the end "
                        "of --epochs; a resumed run takes the new schedule from here on")
    p.add_argument("--max-frames", type=int, default=10000)
    p.add_argument("--peak-lr", type=float, default=2e-3)
    p.add_argument("--warmup", type=int, default=250)
    p.add_argument("--ctc-weight", type=float, default=0.4)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--eval-every", type=int, default=300)
    p.add_argument("--eval-size", type=int, default=100)
    p.add_argument("--streaming-fraction", type=float, default=0.5,
                   help="share of batches given the streaming loop's per-window features (the rest "
                        "get whole-utterance features), so that streaming and non-streaming "
                        "recognition both see in training what they see in use")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2,
                   help="cores to use: this many processes of one thread each, each on its share "
                        "of every batch (see the top of this file)")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--init-from", metavar="MODEL.ember",
                       help="a new run (no latest.pt in --ckpt-dir yet) starts from this model's weights "
                            "instead of a random init (the CTC head, not in the file, starts fresh); "
                            "the schedule starts over: warm-up, then cosine decay; the first epoch "
                            "is shortest-first, as for a random init, unless --shuffled-first")
    start.add_argument("--continue-from", metavar="LATEST.pt",
                       help="a new run (no latest.pt in --ckpt-dir yet) starts from another run's "
                            "checkpoint: its weights, CTC head included, and Adam's moments; the "
                            "schedule starts over (warm-up, then cosine decay), steps count from 0, "
                            "epochs from 1 (shuffled batches)")
    p.add_argument("--shuffled-first", action="store_true",
                   help="with --init-from: start at epoch 1 (shuffled batches of similar length), "
                        "as --continue-from does, since the shortest-first epoch is for a random init")
    p.add_argument("--stop-after-steps", type=int, default=0,
                   help="exit (after a checkpoint) once this step is reached; for testing")
    args = p.parse_args()
    if args.threads < 1:
        p.error("--threads must be at least 1")
    if args.shuffled_first and not args.init_from:
        p.error("--shuffled-first goes with --init-from")
    os.makedirs(args.ckpt_dir, exist_ok=True)
    address = None
    if args.threads > 1:
        with socket.socket() as s:  # a free local port for the processes to meet on
            s.bind(("127.0.0.1", 0))
            address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        context = torch.multiprocessing.get_context("spawn")
        for rank in range(1, args.threads):
            context.Process(target=train, args=(rank, args, address), daemon=True).start()
    train(0, args, address)


def sum_across_processes(tensors):
    """Adds each tensor up over the processes, in place, in one message."""
    flat = torch.cat([t.reshape(-1) for t in tensors])
    dist.all_reduce(flat)
    offset = 0
    for t in tensors:
        t.copy_(flat[offset:offset + t.numel()].view_as(t))
        offset += t.numel()


def train(rank, args, address):
    """One process of --threads: rank 0 logs, evaluates and checkpoints."""
    if rank > 0:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: die with rank 0
    if address:
        dist.init_process_group("gloo", init_method=address, rank=rank, world_size=args.threads,
                                timeout=datetime.timedelta(minutes=30))
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)  # the same random init in every process
    log = print if rank == 0 else (lambda *a, **k: None)

    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.data, "spm_char.model"))
    assert sp.get_piece_size() == BLANK, "blank must be the symbol after the last piece"
    mean, invstddev = load_global_stats(os.path.join(args.data, "global_stats.json"))
    items = [{"path": path, "text": text, "frames": num_frames(path), "tokens": sp.encode(text)}
             for path, text in read_manifest(os.path.join(args.data, "train.tsv"))]
    assert all(sp.unk_id() not in it["tokens"] for it in items), "unknown characters in training text"
    dev = {name: read_manifest(os.path.join(args.data, name + ".tsv"))[:args.eval_size]
           for name in ("test", "test_voice")}

    model = Trainable(CONFIG)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.peak_lr, betas=(0.9, 0.98))
    total_steps = args.schedule_steps or args.epochs * len(epoch_batches(items, 0, args.seed, args.max_frames))
    state = {"step": 0, "epoch": 0, "batch": 0, "elapsed": 0.0, "best_wer": float("inf"),
             "total_steps": total_steps}
    latest = os.path.join(args.ckpt_dir, "latest.pt")

    def restore(path):
        """Weights (CTC head included) and Adam's moments from a checkpoint; -> the checkpoint."""
        ckpt = torch.load(path, map_location="cpu")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        return ckpt

    if os.path.exists(latest):
        ckpt = restore(latest)
        state = ckpt["state"]
        state["total_steps"] = total_steps
        torch.set_rng_state(ckpt["torch_rng"])
        log(f"resumed from {latest}: step {state['step']}, epoch {state['epoch']}, "
            f"batch {state['batch']}, {state['elapsed'] / 60:.1f} min trained", flush=True)
    elif args.continue_from:
        ckpt = restore(args.continue_from)
        state["epoch"] = 1  # shuffled batches at once: the shortest-first epoch is for a random init
        log(f"continued from {args.continue_from} (step {ckpt['state']['step']} of its run): "
            f"weights and Adam moments", flush=True)
    elif args.init_from:
        init_weights(model, args.init_from)
        if args.shuffled_first:
            state["epoch"] = 1
        log(f"initialised from {args.init_from}"
            + (", starting at epoch 1 (shuffled batches)" if args.shuffled_first else ""), flush=True)
    if rank > 0:  # its own dropout masks
        torch.manual_seed(args.seed * 1000003 + state["step"] * 101 + rank)
    curve = os.path.join(args.ckpt_dir, "curve.tsv")
    evals = os.path.join(args.ckpt_dir, "eval.tsv")
    epochs_tsv = os.path.join(args.ckpt_dir, "epochs.tsv")
    if rank == 0:
        truncate_tsv(curve, "step\tepoch\trnnt\tctc\tloss\tlr\telapsed_s", state["step"])
        truncate_tsv(evals, "step\tepoch\telapsed_s\ttest_wer\ttest_cer\tvoice_wer\tvoice_cer", state["step"])
        truncate_tsv(epochs_tsv, "step\tepoch\tbatches\telapsed_s", state["step"])
    n_params = sum(p.numel() for p in model.rnnt.parameters())
    log(f"{len(items)} training utterances, {n_params} parameters (exported), "
        f"{total_steps} steps planned", flush=True)

    def checkpoint():
        if rank > 0:
            return
        save(latest, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "state": state, "torch_rng": torch.get_rng_state(),
                      "config": CONFIG, "args": vars(args)})

    model.train()
    run_start = time.time() - state["elapsed"]
    last_ckpt = time.time()
    sums = [0.0, 0.0, 0.0, 0]
    while state["epoch"] < args.epochs and state["step"] < total_steps:
        batches = epoch_batches(items, state["epoch"], args.seed, args.max_frames)
        epoch_start = time.time()
        while state["batch"] < len(batches):
            lr = learning_rate(state["step"], args.peak_lr, args.warmup, state["total_steps"])
            for group in optimizer.param_groups:
                group["lr"] = lr
            streaming = random.Random(f"{args.seed}/streaming/{state['step']}").random() < args.streaming_fraction
            batch = [items[i] for i in batches[state["batch"]]]
            tokens = float(sum(len(it["tokens"]) for it in batch))  # the whole batch's, in every process
            share = batch[rank::args.threads]
            optimizer.zero_grad()
            losses = torch.zeros(2)  # this process's (RNN-T, CTC) sums over the batch's tokens
            if share:
                sources, source_lengths, targets, target_lengths, right_context = collate(
                    share, mean, invstddev, streaming)
                logits, logit_lengths, ctc_log_probs = model(sources, source_lengths, targets,
                                                             target_lengths, right_context)
                rnnt = torchaudio.functional.rnnt_loss(
                    logits, targets, logit_lengths.int(), target_lengths, blank=BLANK,
                    reduction="sum") / tokens
                ctc = torch.nn.functional.ctc_loss(
                    ctc_log_probs, targets, logit_lengths, target_lengths, blank=BLANK,
                    reduction="sum", zero_infinity=True) / tokens
                (rnnt + args.ctc_weight * ctc).backward()
                losses = torch.stack([rnnt.detach(), ctc.detach()])
            if address:
                for p in model.parameters():
                    if p.grad is None:  # a process whose share was empty
                        p.grad = torch.zeros_like(p)
                sum_across_processes([p.grad for p in model.parameters()] + [losses])
            torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            state["step"] += 1
            state["batch"] += 1
            state["elapsed"] = time.time() - run_start
            rnnt, ctc = losses.tolist()
            sums = [sums[0] + rnnt, sums[1] + ctc, sums[2] + rnnt + args.ctc_weight * ctc, sums[3] + 1]

            if state["step"] % args.log_every == 0:
                n = sums[3]
                if rank == 0:
                    append_tsv(curve, [state["step"], state["epoch"], f"{sums[0] / n:.4f}",
                                       f"{sums[1] / n:.4f}", f"{sums[2] / n:.4f}", f"{lr:.3e}",
                                       f"{state['elapsed']:.0f}"])
                log(f"step {state['step']} epoch {state['epoch']} batch {state['batch']}/{len(batches)} "
                    f"rnnt {sums[0] / n:.3f} ctc {sums[1] / n:.3f} lr {lr:.2e} "
                    f"{state['elapsed'] / 60:.1f} min", flush=True)
                sums = [0.0, 0.0, 0.0, 0]
            if state["step"] % args.eval_every == 0 and rank == 0:
                wer, cer, pairs = evaluate(model.rnnt, dev["test"], mean, invstddev, sp)
                vwer, vcer, _ = evaluate(model.rnnt, dev["test_voice"], mean, invstddev, sp)
                state["elapsed"] = time.time() - run_start
                append_tsv(evals, [state["step"], state["epoch"], f"{state['elapsed']:.0f}",
                                   f"{wer:.2f}", f"{cer:.2f}", f"{vwer:.2f}", f"{vcer:.2f}"])
                log(f"eval step {state['step']}: test WER {wer:.2f} CER {cer:.2f}, "
                    f"held-out voice WER {vwer:.2f} CER {vcer:.2f}\n"
                    f"  REF {pairs[0][0]}\n  HYP {pairs[0][1]}", flush=True)
                if wer < state["best_wer"]:
                    state["best_wer"] = wer
                    save(os.path.join(args.ckpt_dir, "best.pt"),
                         {"model": model.state_dict(), "config": CONFIG,
                          "step": state["step"], "test_wer": wer, "test_cer": cer,
                          "voice_wer": vwer, "voice_cer": vcer})
            stop = (args.stop_after_steps and state["step"] >= args.stop_after_steps) \
                or state["step"] >= total_steps
            if stop or time.time() - last_ckpt > 60 * args.checkpoint_minutes:
                checkpoint()
                last_ckpt = time.time()
            if stop:
                log(f"stopped at step {state['step']} of {total_steps}", flush=True)
                return
        if rank == 0:
            append_tsv(epochs_tsv, [state["step"], state["epoch"], len(batches),
                                    f"{state['elapsed']:.0f}"])
        log(f"epoch {state['epoch']} done: {len(batches)} batches, "
            f"{(time.time() - epoch_start) / 60:.1f} min this run", flush=True)
        state["epoch"] += 1
        state["batch"] = 0
        checkpoint()
        last_ckpt = time.time()
    log("training finished", flush=True)


if __name__ == "__main__":
    main()
