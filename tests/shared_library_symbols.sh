#!/bin/sh
# The library embedders link (libvkgraph.so) carries no benchmark code: `vkgraph bench` is built
# from cli/bench into the CLI only. Every symbol the library defines is checked, local ones too
# (the version script hides them from the dynamic table, not from the object).
# Usage: shared_library_symbols.sh LIBRARY
set -eu
lib=$1
symbols=$(nm -C --defined-only "$lib")
# The C API is there: a check that finds nothing is not a check of an empty listing.
echo "$symbols" | grep -q ' vkgraph_model_load$' || { echo "$lib: nm lists no vkgraph_model_load"; exit 1; }
found=$(echo "$symbols" | grep -i 'bench' || true)
if [ -n "$found" ]; then
  echo "$lib defines benchmark symbols (cli/bench belongs to the CLI):"
  echo "$found" | head -20
  exit 1
fi
echo "ok: $(echo "$symbols" | wc -l) symbols in $lib, none of the benchmark"
