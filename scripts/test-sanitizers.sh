#!/usr/bin/env bash
# The sanitizer and fuzz stages of CI (docs/reliability.md), after scripts/test.sh's normal build:
#   asan  build-asan: clang with ASan + UBSan (and libFuzzer coverage, so the fuzz stage reuses
#         the same objects), the whole ctest suite except the fuzz label and the CPU-against-CPU
#         op-case test (see stage_asan)
#   fuzz  build-asan: the fuzz_* ctest entries (each fuzzer VKGRAPH_FUZZ_SECONDS, 60 s by
#         default, two at a time) and the replay of tests/data/fuzz-regressions; needs clang
#   tsan  build-tsan: ThreadSanitizer (GCC), the concurrency tests and every C API test (the
#         two-context, cancel-from-another-thread, busy-context and re-entry ones among them);
#         only their test files are built (VKGRAPH_TEST_SOURCES)
# Usage: scripts/test-sanitizers.sh [STAGE...]   (default: asan fuzz tsan; scripts/test.sh runs
# all three in CI). Environment: VKGRAPH_JOBS (2), VKGRAPH_FUZZ_SECONDS (60).
# Prints each stage's wall time. ccache (cache in ~/.cache/vkgraph/ccache) makes reruns fast.
# Without clang the asan stage falls back to GCC and the fuzz stage fails (scripts/setup.sh
# installs clang). A stage whose test filter selects nothing fails too (ctest --no-tests=error).
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
# quarantine_size_mb=32 and allocator_release_to_os_interval_ms=-1: with ASan's default 256 MB
# quarantine cycling and its allocator returning pages to the OS every few seconds, RSS swung by
# 3.6% around 870 MiB (measured) with no growth. The soak test bounds RSS growth by a median slope,
# which such swings barely move, but with these RSS shows the program's memory, not ASan's.
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
  # The whole suite, even in a build-asan configured earlier with a subset of the tests.
  local all_tests='-DVKGRAPH_TEST_SOURCES=*.cpp'
  if [ -n "$clang" ]; then
    cmake -S . -B build-asan -G Ninja -DCMAKE_CXX_COMPILER="$clang" "${launcher[@]}" -DVKGRAPH_WERROR=ON \
      -DVKGRAPH_CUDA=OFF -DVKGRAPH_FUZZ=ON -DVKGRAPH_FUZZ_SECONDS="$fuzz_seconds" -DVKGRAPH_SANITIZE=address,undefined "$all_tests" >/dev/null
  else
    cmake -S . -B build-asan -G Ninja "${launcher[@]}" -DVKGRAPH_WERROR=ON -DVKGRAPH_CUDA=OFF \
      -DVKGRAPH_SANITIZE=address,undefined "$all_tests" >/dev/null
  fi
  cmake --build build-asan -j "$jobs"
}
# require_tests DIR REGEX COUNT: fails unless REGEX names exactly COUNT ctest entries in DIR, so a
# renamed test cannot silently drop out of (or back into) a stage's filter.
require_tests() {
  local found
  found=$(ctest --test-dir "$1" -N -R "$2" | sed -n 's/^Total Tests: //p')
  if [ "$found" != "$3" ]; then
    echo "test-sanitizers: '$2' names ${found:-no} tests in $1, expected $3 (was a test renamed?)" >&2
    exit 1
  fi
}
# Left out of the asan stage: it runs the CPU reference against itself, which only
# nondeterminism can fail and instrumentation does not change, while `vulkan ops match the CPU
# reference` already runs every op case through the same CPU code under ASan. It cost 357 s
# under ASan (6.5 s without) for no finding it could make.
asan_left_out='^every op case passes cpu against cpu with an exact match$'
stage_asan() {
  timed asan-build configure_asan
  require_tests build-asan "$asan_left_out" 1
  timed asan-tests ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$jobs" -LE fuzz \
    -E "$asan_left_out" --timeout 1200
}
stage_fuzz() {
  if [ -z "$clang" ]; then
    echo "test-sanitizers: the fuzz stage needs clang (clang++-14 or clang++; scripts/setup.sh installs it)" >&2
    exit 1
  fi
  timed fuzz-build configure_asan  # nothing to do after the asan stage: same build
  timed fuzz ctest --test-dir build-asan --output-on-failure --no-tests=error -j "$jobs" -L fuzz
}
build_tsan() {
  cmake -S . -B build-tsan -G Ninja "${launcher[@]}" -DVKGRAPH_WERROR=ON -DVKGRAPH_CUDA=OFF -DVKGRAPH_SANITIZE=thread \
    "-DVKGRAPH_TEST_SOURCES=test_concurrency.cpp;test_capi.cpp;test_capi_faults.cpp;vulkan_test_support.cpp" >/dev/null
  cmake --build build-tsan -j "$jobs" --target vkgraph_tests
}
stage_tsan() {
  timed tsan-build build_tsan
  # Every Catch2 test of those files is named 'concurrency: ...' or 'capi: ...'; the filter leaves
  # out the two entries that are no Catch2 tests: capi_install_example (an installed library, not
  # built with TSan) and shared_library_has_no_benchmark_symbols (nm on the library). A test
  # renamed out of the filter fails the stage here, and --no-tests=error fails a filter that
  # matches nothing.
  local outside
  outside=$(ctest --test-dir build-tsan -N -E '^(concurrency|capi): ' | sed -n 's/^ *Test *#[0-9]*: //p' | sort |
    tr '\n' ' ')
  if [ "$outside" != "capi_install_example shared_library_has_no_benchmark_symbols " ]; then
    printf 'test-sanitizers: tests of the TSan build outside its filter: %s\n' "$outside" >&2
    exit 1
  fi
  timed tsan-tests ctest --test-dir build-tsan --output-on-failure --no-tests=error -j "$jobs" \
    -R '^(concurrency|capi): ' --timeout 1200
}

for stage in "${stages[@]}"; do
  echo "=== sanitizer stage: $stage"
  "stage_$stage"
done
printf 'sanitizer stage time: %s\n' "${timings[@]}"
