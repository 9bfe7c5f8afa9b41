#!/usr/bin/env bash
# Installs the build into a scratch prefix, builds examples/c against it with
# find_package(ember), and runs it on a WAV with a model converted from a
# fixture: the C API end to end, as a user would build it.
# usage: c_example.sh BUILD_DIR SOURCE_DIR SCRATCH_DIR
set -euo pipefail
build="$1" source="$2" scratch="$3"
rm -rf "$scratch" && mkdir -p "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" > /dev/null
cmake -S "$source/examples/c" -B "$scratch/example" -DCMAKE_PREFIX_PATH="$scratch/prefix" > /dev/null
cmake --build "$scratch/example" > /dev/null
fixture="$source/tests/fixtures/decoder/ln_1lstm"
"$scratch/prefix/bin/ember" convert --checkpoint "$fixture/model.pt" --config "$fixture/config.json" \
  -o "$scratch/model.ember" 2> /dev/null
# Two seconds of a 22.05 kHz stereo sweep with noise: resampling and channel averaging too.
sox -n -r 22050 -b 16 -c 2 "$scratch/sweep.wav" synth 2 sine 200-4000 synth 2 whitenoise mix vol 0.3
output=$(LD_LIBRARY_PATH="$scratch/prefix/lib" "$scratch/example/transcribe_wav" "$scratch/model.ember" \
  "$scratch/sweep.wav")
echo "$output"
grep -q '^final: 1$' <<< "$output"
grep -q '^tokens: [0-9]' <<< "$output"  # the test model emits tokens
