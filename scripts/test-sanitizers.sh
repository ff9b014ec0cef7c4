#!/usr/bin/env bash
# The sanitizer and fuzz stages of CI (docs/reliability.md), after scripts/test.sh's normal build:
#   asan  build-asan: clang with ASan + UBSan (and libFuzzer coverage, so the fuzz stage reuses
#         the same objects), the whole ctest suite except the fuzz label
#   fuzz  build-asan: the fuzz_* ctest entries (VKGRAPH_FUZZ_SECONDS each, 45 s by default) and
#         the replay of tests/data/fuzz-regressions
#   tsan  build-tsan: ThreadSanitizer (GCC), the concurrency tests ([concurrency], the C API's
#         two-context and cancel tests)
# Usage: scripts/test-sanitizers.sh [STAGE...]   (default: asan fuzz tsan)
# Prints each stage's wall time. ccache (cache in ~/.cache/vkgraph/ccache) makes reruns fast.
# Without clang the asan stage falls back to GCC and the fuzz stage is skipped.
set -euo pipefail
project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_dir"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan fuzz tsan)
jobs=${VKGRAPH_JOBS:-2}
supp="$project_dir/cmake/sanitizers"

launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/vkgraph/ccache}
  # Paths relative to the checkout, so a fresh clone elsewhere hits the same cache.
  export CCACHE_BASEDIR="$project_dir" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# Reports stop the program with an error; the suppressions name third-party code only (Mesa's
# lavapipe and the Vulkan loader/layers run in-process), each entry says why.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:verify_asan_link_order=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1"

timings=()
clang=$(command -v clang++-14 || command -v clang++ || true)
configure_asan() {
  if [ -n "$clang" ]; then
    cmake -S . -B build-asan -G Ninja -DCMAKE_CXX_COMPILER="$clang" "${launcher[@]}" -DVKGRAPH_WERROR=ON \
      -DVKGRAPH_CUDA=OFF -DVKGRAPH_FUZZ=ON -DVKGRAPH_SANITIZE=address,undefined >/dev/null
  else
    cmake -S . -B build-asan -G Ninja "${launcher[@]}" -DVKGRAPH_WERROR=ON -DVKGRAPH_CUDA=OFF \
      -DVKGRAPH_SANITIZE=address,undefined >/dev/null
  fi
  cmake --build build-asan -j "$jobs"
}
stage_asan() {
  configure_asan
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE fuzz --timeout 1200
}
stage_fuzz() {
  if [ -z "$clang" ]; then echo "no clang: fuzz stage skipped"; return 0; fi
  configure_asan
  ctest --test-dir build-asan --output-on-failure -j "$jobs" -L fuzz
}
stage_tsan() {
  cmake -S . -B build-tsan -G Ninja "${launcher[@]}" -DVKGRAPH_WERROR=ON -DVKGRAPH_CUDA=OFF -DVKGRAPH_SANITIZE=thread >/dev/null
  cmake --build build-tsan -j "$jobs" --target vkgraph_tests vkgraph
  ctest --test-dir build-tsan --output-on-failure -R 'concurrency|capi: two contexts|capi: cancel|capi: a cancel' --timeout 1200
}

for stage in "${stages[@]}"; do
  start=$(date +%s)
  echo "=== sanitizer stage: $stage"
  "stage_$stage"
  timings+=("$stage $(($(date +%s) - start))s")
done
printf 'stage time: %s\n' "${timings[@]}"
