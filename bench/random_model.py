#!/usr/bin/python3
"""A random-weight Emformer RNN-T for benchmarks: OUT/model.pt and OUT/config.json, for `ember convert`.

    /usr/bin/python3 bench/random_model.py CONFIG.json OUT [--joiner-gain 8] [--blank-bias 13.5]

CONFIG.json holds torchaudio's 21 keyword arguments of emformer_rnnt_model, or
{"preset": "base", "num_symbols": 4097}. As in compare_torchaudio.py, the
joiner is scaled and its blank logit raised so that the search emits a token
now and then, as a trained model does, rather than on most frames; how often
depends on the size (see bench/README.md).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import reference  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--joiner-gain", type=float, default=8.0)
    parser.add_argument("--blank-bias", type=float, default=13.5)
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    model = reference.build_model(config, args.seed, joiner_gain=args.joiner_gain, blank_logit_bias=args.blank_bias)
    input_dim = reference.resolve(config)["input_dim"]
    reference.write_inputs(args.out, model, config, reference.random_features(8, input_dim, args.seed + 1))


if __name__ == "__main__":
    main()
