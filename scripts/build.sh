#!/usr/bin/env bash
# The build command (README.md): install build dependencies, build ember in
# Release mode into build/, and show what it can do.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install_deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DEMBER_BUILD_TESTS=OFF
cmake --build build -j"$(nproc)" --target ember
build/tools/ember --help
