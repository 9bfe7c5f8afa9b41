#!/usr/bin/env bash
# Installs, by Debian package name, what ember needs to build (and, with
# --test, to run its tests: Catch2 and torchaudio as the reference; with
# --bench, to build bench/: Google Benchmark, Eigen and OpenBLAS; with
# --hardening, for scripts/sanitize.sh and fuzz/run.sh: clang with its
# sanitizer and libFuzzer runtimes, which clang only recommends, and
# llvm-symbolizer for readable sanitizer reports).
#   bash scripts/install_deps.sh [--test] [--bench] [--hardening]
set -euo pipefail

packages=(g++ cmake make libxsimd-dev)
for flag in "$@"; do
  case "$flag" in
    --test) packages+=(catch2 python3-numpy python3-torchaudio espeak-ng sox python3-sentencepiece sentencepiece) ;;
    --bench) packages+=(libbenchmark-dev libeigen3-dev libopenblas-dev) ;;
    --hardening) packages+=(clang libclang-rt-dev llvm) ;;
    *) echo "usage: install_deps.sh [--test] [--bench] [--hardening]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
