#!/bin/bash
# The model card's results for one model: `ember eval` at beam 10 on the held-out
# sentences (test), the held-out voice (test_voice) and samples/, each whole and
# streaming three ways (torchaudio's search, --carry-predictor, --carry-beam),
# and on the training subset (train400), one line each.
#
#     tools/train/evaluate_all.sh MODEL.ember [DATA_DIR] [EMBER]
#
# DATA_DIR defaults to /work/ember-train/data2 (make_data.py's output),
# EMBER to build/tools/ember. Run from the repo root.
set -euo pipefail
if [[ $# -lt 1 || $# -gt 3 || $1 == -h || $1 == --help ]]; then
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
model=$1
data=${2:-/work/ember-train/data2}
ember=${3:-build/tools/ember}
for path in "$model" "$data/test.tsv" "$data/test_voice.tsv" "$data/train400.tsv" samples/samples.tsv "$ember"; do
    [[ -e $path ]] || { echo "evaluate_all.sh: $path does not exist" >&2; exit 1; }
done

for manifest in "$data/test.tsv" "$data/test_voice.tsv" samples/samples.tsv; do
    for mode in "" "--streaming" "--streaming --carry-predictor" "--streaming --carry-beam"; do
        # shellcheck disable=SC2086  # $mode is zero or more flags
        result=$("$ember" eval "$model" --manifest "$manifest" --beam 10 --threads 2 $mode | tail -1)
        echo "$(basename "$manifest") [${mode:-whole}]: $result"
    done
done
echo "train400.tsv [whole]: $("$ember" eval "$model" --manifest "$data/train400.tsv" --beam 10 --threads 2 | tail -1)"
