#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and fuzzes each one for a while.
#   scripts/fuzz.sh [-t SECONDS] [-j PARALLEL] [TARGET...]
# Defaults: 600 s per target, one target at a time, all targets (gguf tokenizer_spm
# tokenizer_bpe chat_template jinja). The corpus grows in BUILD/fuzz-corpus/<target> across runs;
# a finding is written to BUILD/fuzz-artifacts-<target>-crash-* and fails the script: keep it
# in tests/data/fuzz-regressions/<target>/ once fixed. Prints executions and coverage per target.
# Environment: VKGRAPH_FUZZ_BUILD_DIR (default build-fuzz), CC/CXX (default clang-14).
set -euo pipefail
project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_dir"

seconds=600
parallel=1
while getopts "t:j:" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    j) parallel=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS] [-j PARALLEL] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(gguf tokenizer_spm tokenizer_bpe chat_template jinja)

build=${VKGRAPH_FUZZ_BUILD_DIR:-build-fuzz}
cxx=${CXX:-$(command -v clang++-14 || command -v clang++)}
launcher=()
if command -v ccache >/dev/null; then
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/vkgraph/ccache}
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
  -DVKGRAPH_WERROR=ON -DVKGRAPH_FUZZ=ON -DVKGRAPH_CUDA=OFF -DVKGRAPH_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j 2 --target vkgraph_fuzz_corpora $(printf 'fuzz_%s ' "${targets[@]}")

logs="$build/fuzz-logs"
mkdir -p "$logs"
seeds_of() { case $1 in gguf) echo gguf ;; tokenizer_*) echo tokenizer ;; chat_template) echo chat ;; jinja) echo jinja ;; esac; }

run_one() {
  local t=$1
  local corpus="$build/fuzz-corpus/$t"
  mkdir -p "$corpus"
  "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/fuzz-artifacts-$t-" "$corpus" "$build/fuzz/seeds/$(seeds_of "$t")" >"$logs/$t.log" 2>&1
}

status=0
pids=()
names=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  names+=("$t")
  if [ ${#pids[@]} -ge "$parallel" ]; then
    wait "${pids[0]}" || { echo "fuzz_${names[0]}: FINDING, see $logs/${names[0]}.log"; status=1; }
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
  fi
done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || { echo "fuzz_${names[$i]}: FINDING, see $logs/${names[$i]}.log"; status=1; }
done

# One line per target: executions, coverage (edges) and features from libFuzzer's last report.
for t in "${targets[@]}"; do
  last=$(grep -E '^#[0-9]+' "$logs/$t.log" | tail -1 || true)
  execs=$(grep -E '^stat::number_of_executed_units' "$logs/$t.log" | awk '{print $2}' || true)
  echo "fuzz_$t: ${seconds}s, executions ${execs:-?}, last: ${last:-no report}"
done
exit $status
