#!/usr/bin/env bash
# Sets up the machine if needed, builds everything and runs the whole test suite through ctest,
# then the sanitizer and fuzz stages (scripts/test-sanitizers.sh: the whole suite under ASan +
# UBSan, each fuzzer for a minute, the concurrency tests under TSan). VKGRAPH_SANITIZER_STAGES
# picks them (default "asan fuzz tsan", what CI runs; "none" skips them). Each stage's wall time
# is printed at the end.
set -euo pipefail
project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_dir"
started=$(date +%s)
bash scripts/setup.sh
setup_done=$(date +%s)
# Formatting first: it takes seconds and names every file that differs from .clang-format.
bash scripts/check-format.sh

build_dir=${VKGRAPH_BUILD_DIR:-build}
options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKGRAPH_WERROR=ON)
if command -v ccache >/dev/null; then
  # Paths relative to the checkout, so a fresh clone elsewhere hits the same cache.
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/vkgraph/ccache} CCACHE_BASEDIR="$project_dir" CCACHE_NOHASHDIR=1
  options+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# The CUDA backend is built wherever a toolkit exists, so it cannot rot unnoticed; ON (not AUTO)
# makes a broken toolkit fail the build instead of quietly dropping the backend.
nvcc=$(command -v nvcc || true)
[ -n "$nvcc" ] || { [ -x /usr/local/cuda/bin/nvcc ] && nvcc=/usr/local/cuda/bin/nvcc; } || true
if [ -n "$nvcc" ]; then options+=(-DVKGRAPH_CUDA=ON -DCMAKE_CUDA_COMPILER="$nvcc"); fi

cmake -S . -B "$build_dir" -G Ninja "${options[@]}"
cmake --build "$build_dir"
built=$(date +%s)
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)"
tested=$(date +%s)

stages=${VKGRAPH_SANITIZER_STAGES:-asan fuzz tsan}
if [ "$stages" != none ]; then
  # Each fuzzer runs a minute, two at a time (docs/reliability.md, CI, gives the stage times).
  export VKGRAPH_FUZZ_SECONDS=${VKGRAPH_FUZZ_SECONDS:-60}
  # shellcheck disable=SC2086  # the stage list is words
  bash scripts/test-sanitizers.sh $stages
fi
finished=$(date +%s)
echo "time: setup $((setup_done - started)) s, build $((built - setup_done)) s, tests $((tested - built)) s," \
     "sanitizer stages $((finished - tested)) s, total $((finished - started)) s"
