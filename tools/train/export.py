"""Export a training checkpoint as a plain emformer_rnnt_model and convert it to .ember.

    /usr/bin/python3 tools/train/export.py /work/ember-train/checkpoints/best.pt \
        --data /work/ember-train/data --out /work/ember-train/export \
        --ember build/tools/ember -o models/tiny-en.ember

Writes to --out: model.pt (torch.save of the emformer_rnnt_model state_dict,
the CTC head dropped), config.json (the 21 keyword arguments),
global_stats.json and spm_char.model (copied from --data); then runs
`ember convert` on them, like any user checkpoint.
"""

import argparse
import json
import os
import shutil
import subprocess

import torch
import torchaudio


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("checkpoint", help="best.pt or latest.pt from train.py")
    p.add_argument("--data", default="/work/ember-train/data")
    p.add_argument("--out", default="/work/ember-train/export")
    p.add_argument("--ember", default="build/tools/ember", help="the ember program")
    p.add_argument("-o", "--output", required=True, help="the .ember file to write")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    ckpt = torch.load(args.checkpoint, map_location="cpu")
    config = ckpt["config"]
    state = {k[len("rnnt."):]: v for k, v in ckpt["model"].items() if k.startswith("rnnt.")}
    model = torchaudio.models.emformer_rnnt_model(**config)
    model.load_state_dict(state)  # strict: the exported dict is exactly the plain model's

    model_pt = os.path.join(args.out, "model.pt")
    config_json = os.path.join(args.out, "config.json")
    stats = os.path.join(args.out, "global_stats.json")
    spm_model = os.path.join(args.out, "spm_char.model")
    torch.save(model.state_dict(), model_pt)
    with open(config_json, "w") as f:
        json.dump(config, f, indent=2)
    shutil.copyfile(os.path.join(args.data, "global_stats.json"), stats)
    shutil.copyfile(os.path.join(args.data, "spm_char.model"), spm_model)

    subprocess.run([args.ember, "convert", "--checkpoint", model_pt, "--config", config_json,
                    "-o", args.output, "--global-stats", stats, "--sentencepiece", spm_model],
                   check=True)
    size = os.path.getsize(args.output) / 2**20
    print(f"{args.output}: {size:.1f} MiB (step {ckpt.get('step', ckpt.get('state', {}).get('step'))})")


if __name__ == "__main__":
    main()
