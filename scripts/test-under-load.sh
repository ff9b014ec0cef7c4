#!/usr/bin/env bash
# Runs the whole test suite several times in a row while every core is kept busy, the way
# `stress --cpu N` would: timing assumptions (a timeout that is really a speed bound, a thread
# that "surely" ran first) show up here and not on an idle machine. Usage, after a build
# (scripts/test.sh, or cmake --build build):
#   bash scripts/test-under-load.sh [RUNS]        (default 3; VKGRAPH_BUILD_DIR picks the build)
# Prints each run's wall time, the test count and the load average seen during it; exits non-zero
# if any run failed (every run still runs, so one log shows whether a failure repeats).
set -euo pipefail
project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_dir"
runs=${1:-3}
build_dir=${VKGRAPH_BUILD_DIR:-build}
cores=$(nproc)
[ -f "$build_dir/CTestTestfile.cmake" ] || { echo "no build in $build_dir: run scripts/test.sh or cmake --build $build_dir first" >&2; exit 2; }

# One busy loop per core at normal priority, as stress does; killed on any exit.
load_pids=()
stop_load() { [ ${#load_pids[@]} -eq 0 ] || kill "${load_pids[@]}" 2>/dev/null || true; }
trap stop_load EXIT
for _ in $(seq "$cores"); do
  bash -c 'while :; do :; done' &
  load_pids+=($!)
done

failed=0
summary=()
for run in $(seq "$runs"); do
  log="$build_dir/under-load-run-$run.log"
  started=$(date +%s)
  # The load average is sampled every 30 s while the suite runs (the first minute's figure
  # includes the idle time before the run).
  (while :; do cut -d' ' -f1 /proc/loadavg; sleep 30; done) > "$log.load" &
  sampler=$!
  status=0
  ctest --test-dir "$build_dir" --output-on-failure -j "$cores" > "$log" 2>&1 || status=$?
  kill "$sampler" 2>/dev/null || true
  wall=$(( $(date +%s) - started ))
  result=$(grep -E '^[0-9]+% tests passed' "$log" || echo "no ctest summary")
  load=$(sort -n "$log.load" | awk '{a[NR]=$1} END {if (NR) printf "load %s-%s", a[1], a[NR]}')
  line="run $run: $( [ $status -eq 0 ] && echo passed || echo FAILED ) in ${wall} s; $result; $load"
  summary+=("$line")
  echo "$line"
  if [ $status -ne 0 ]; then
    failed=1
    grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Not Run)' "$log" || true
  fi
done
echo "--- $runs runs, $cores busy loops beside each ($build_dir/under-load-run-*.log):"
printf '%s\n' "${summary[@]}"
exit $failed
