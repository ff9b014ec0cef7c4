#!/usr/bin/env bash
# The sanitizer and fuzz stages of CI (docs/reliability.md), after scripts/test.sh's normal build:
#   asan  build-asan: clang with ASan + UBSan (and libFuzzer coverage, so the fuzz stage reuses
#         the same objects), the whole ctest suite except the fuzz label
#   fuzz  build-asan: the fuzz_* ctest entries (each fuzzer VKGRAPH_FUZZ_SECONDS, 60 s by
#         default, two at a time) and the replay of tests/data/fuzz-regressions
#   tsan  build-tsan: ThreadSanitizer (GCC), the concurrency tests and every C API test (the
#         two-context and cancel-from-another-thread ones among them); only their test files are
#         built (VKGRAPH_TEST_SOURCES)
# Usage: scripts/test-sanitizers.sh [STAGE...]   (default: asan fuzz tsan; scripts/test.sh runs
# all three in CI). Environment: VKGRAPH_JOBS (2), VKGRAPH_FUZZ_SECONDS (60).
# Prints each stage's wall time. ccache (cache in ~/.cache/vkgraph/ccache) makes reruns fast.
# Without clang the asan stage falls back to GCC and the fuzz stage is skipped.
set -euo pipefail
project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_dir"
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(asan fuzz tsan)
jobs=${VKGRAPH_JOBS:-2}
fuzz_seconds=${VKGRAPH_FUZZ_SECONDS:-60}
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
# quarantine_size_mb=32 and allocator_release_to_os_interval_ms=-1: the soak test asserts host RSS
# flat within 1%; with ASan's default 256 MB quarantine cycling and its allocator returning pages
# to the OS every few seconds, RSS swung by 3.6% around 870 MiB (measured) with no growth, so the
# test failed on the sanitizer's own bookkeeping. With these, RSS shows the program's memory again.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0:verify_asan_link_order=0:quarantine_size_mb=32:allocator_release_to_os_interval_ms=-1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export TSAN_OPTIONS="suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1"

timings=()
# timed NAME COMMAND...: runs the command and records its wall time under NAME.
timed() {
  local name=$1 start
  shift
  start=$(date +%s)
  "$@"
  timings+=("$name $(($(date +%s) - start)) s")
}
clang=$(command -v clang++-14 || command -v clang++ || true)
configure_asan() {
  if [ -n "$clang" ]; then
    cmake -S . -B build-asan -G Ninja -DCMAKE_CXX_COMPILER="$clang" "${launcher[@]}" -DVKGRAPH_WERROR=ON \
      -DVKGRAPH_CUDA=OFF -DVKGRAPH_FUZZ=ON -DVKGRAPH_FUZZ_SECONDS="$fuzz_seconds" -DVKGRAPH_SANITIZE=address,undefined >/dev/null
  else
    cmake -S . -B build-asan -G Ninja "${launcher[@]}" -DVKGRAPH_WERROR=ON -DVKGRAPH_CUDA=OFF \
      -DVKGRAPH_SANITIZE=address,undefined >/dev/null
  fi
  cmake --build build-asan -j "$jobs"
}
stage_asan() {
  timed asan-build configure_asan
  timed asan-tests ctest --test-dir build-asan --output-on-failure -j "$jobs" -LE fuzz --timeout 1200
}
stage_fuzz() {
  if [ -z "$clang" ]; then echo "no clang: fuzz stage skipped"; return 0; fi
  timed fuzz-build configure_asan  # nothing to do after the asan stage: same build
  timed fuzz ctest --test-dir build-asan --output-on-failure -j "$jobs" -L fuzz
}
build_tsan() {
  cmake -S . -B build-tsan -G Ninja "${launcher[@]}" -DVKGRAPH_WERROR=ON -DVKGRAPH_CUDA=OFF -DVKGRAPH_SANITIZE=thread \
    "-DVKGRAPH_TEST_SOURCES=test_concurrency.cpp;test_capi.cpp;vulkan_test_support.cpp" >/dev/null
  cmake --build build-tsan -j "$jobs" --target vkgraph_tests
}
stage_tsan() {
  timed tsan-build build_tsan
  timed tsan-tests ctest --test-dir build-tsan --output-on-failure -j "$jobs" -R '^(concurrency|capi): ' --timeout 1200
}

for stage in "${stages[@]}"; do
  echo "=== sanitizer stage: $stage"
  "stage_$stage"
done
printf 'sanitizer stage time: %s\n' "${timings[@]}"
