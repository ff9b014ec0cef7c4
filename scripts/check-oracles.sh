#!/usr/bin/env bash
# Mutation check of the test oracles (docs/reliability.md, "Test oracles"): puts in, one at a
# time, each bug of scripts/oracle-mutations/*.patch that a test exists to catch, rebuilds the
# test binary and runs the tests the patch names, which must fail. The tree is restored after
# each bug, and on exit or Ctrl-C.
#
# A patch starts with two lines, `# bug: WHAT` and `# tests: CATCH2-TEST-SPEC` (commas in a test
# name escaped as \,), then a diff
# (`git diff` of the bug put in by hand). The script fails when a patch no longer applies (the
# code it mutates moved: remake the patch), when the named tests fail without the bug (a failing
# test proves nothing about one), or when they pass with it (the oracle lost its teeth, e.g. a
# bound was loosened).
#
# Usage: scripts/check-oracles.sh [BUILD_DIR [NAME...]]   (BUILD_DIR: a configured build, default
# build; NAME: patches to run, without .patch, default all). Not part of CI: each bug costs a
# compile and a link of the test binary. Run it after changing a bound or an oracle.
set -euo pipefail
project_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$project_dir"
build=${1:-build}
shift || true
mutations=scripts/oracle-mutations

patches=()
if [ $# -gt 0 ]; then
  for name in "$@"; do patches+=("$mutations/$name.patch"); done
else
  patches=("$mutations"/*.patch)
fi
[ -x "$build/tests/vkgraph_tests" ] || {
  echo "check-oracles: $build/tests/vkgraph_tests not found (configure and build $build first)" >&2
  exit 1
}

field() { sed -n "s/^# $1: //p" "$2"; }
build_tests() { nice cmake --build "$build" -j "${VKGRAPH_JOBS:-2}" --target vkgraph_tests >"$log" 2>&1; }
run_tests() { VKGRAPH_VALIDATION=1 nice "$build/tests/vkgraph_tests" "$1" >"$log" 2>&1; }

log=$(mktemp)
applied=""
restore() {
  if [ -n "$applied" ]; then
    git apply -R "$applied"
    applied=""
  fi
}
trap 'restore; rm -f "$log"' EXIT
trap 'exit 130' INT TERM

for patch in "${patches[@]}"; do
  [ -f "$patch" ] || { echo "check-oracles: no such mutation: $patch" >&2; exit 1; }
  if [ -z "$(field bug "$patch")" ] || [ -z "$(field tests "$patch")" ]; then
    echo "check-oracles: $patch lacks its '# bug:' or '# tests:' line" >&2
    exit 1
  fi
  git apply --check "$patch" 2>"$log" || {
    echo "check-oracles: $patch no longer applies (remake it from the code it mutates):" >&2
    cat "$log" >&2
    exit 1
  }
done

# The tests as they are first: a test that fails already proves nothing about a bug.
build_tests || { cat "$log"; echo "check-oracles: the tree does not build" >&2; exit 1; }
for patch in "${patches[@]}"; do
  run_tests "$(field tests "$patch")" || {
    tail -40 "$log"
    echo "check-oracles: '$(field tests "$patch")' fails without any bug put in" >&2
    exit 1
  }
done

missed=0
for patch in "${patches[@]}"; do
  name=$(basename "$patch" .patch)
  git apply "$patch"
  applied=$patch
  start=$SECONDS
  if ! build_tests; then
    cat "$log"
    echo "check-oracles: $name does not build" >&2
    exit 1
  fi
  if run_tests "$(field tests "$patch")"; then
    echo "MISSED  $name: $(field bug "$patch") -- '$(field tests "$patch")' passes with it"
    missed=$((missed + 1))
  else
    failure=$(grep -m1 -A3 'FAILED\|with expansion' "$log" | tr -s ' \n' ' ' | cut -c1-160 || true)
    echo "caught  $name ($((SECONDS - start)) s): $failure"
  fi
  restore
done
build_tests  # leave the build matching the tree

echo "check-oracles: ${#patches[@]} bugs, $((${#patches[@]} - missed)) caught, $missed missed"
[ "$missed" -eq 0 ]
