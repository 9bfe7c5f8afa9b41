"""Checks that training on streaming features sees what streaming inference sees.

    /usr/bin/python3 tools/train/check_streaming.py CHECKPOINT.pt WAV [--stats global_stats.json]

Runs the transcriber of a checkpoint two ways on one utterance: the
pipeline's streaming loop (a window of segment + right context hops every
segment hops, features per window, RNNT.transcribe_streaming with state), and
the training forward (Trainable.transcribe) given features.streaming_features.
Prints the largest difference of their outputs; exits 1 above 1e-4.
"""

import argparse
import sys

import torch

from features import (HOP_LENGTH, load_global_stats, log_mel, read_wav,
                      streaming_features)
from model import CONFIG, Trainable


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint")
    p.add_argument("wav")
    p.add_argument("--stats", default="/work/ember-train/data/global_stats.json")
    args = p.parse_args()
    model = Trainable(CONFIG)
    model.load_state_dict(torch.load(args.checkpoint, map_location="cpu")["model"])
    model.eval()
    mean, invstddev = load_global_stats(args.stats)
    waveform = read_wav(args.wav)
    seg, rc = CONFIG["segment_length"], CONFIG["right_context_length"]

    with torch.no_grad():
        # The pipeline's streaming loop (as tests/python/pipeline.py).
        step, window = seg * HOP_LENGTH, (seg + rc) * HOP_LENGTH
        state, outputs = None, []
        for i in range(0, len(waveform), step):
            piece = torch.nn.functional.pad(waveform[i:i + window], (0, window - len(waveform[i:i + window])))
            x = (log_mel(piece) - mean) * invstddev
            out, _, state = model.rnnt.transcribe_streaming(
                x.unsqueeze(0), torch.tensor([x.shape[0]]), state)
            outputs.append(out[0])
        streamed = torch.cat(outputs)

        segments, right_context = streaming_features(waveform, mean, invstddev, seg, rc)
        sources = torch.cat([segments, right_context[-rc:]]).unsqueeze(0)
        trained, _ = model.transcribe(sources, torch.tensor([segments.shape[0]]),
                                      right_context.unsqueeze(0))
        trained = trained[0]
    diff = (streamed - trained).abs().max().item()
    print(f"{streamed.shape[0]} frames streamed, {trained.shape[0]} in training; "
          f"largest difference {diff:.3g}")
    return 0 if streamed.shape == trained.shape and diff < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
