#!/usr/bin/env bash
# Writes llama.cpp's embeddings of a few texts with stories260K, for each pooling, to
# tests/data/embeddings/stories260K.json (the reference of tests/test_embedding.cpp).
#
#   bash scripts/reference-embeddings.sh [LLAMA_CPP_SOURCE] [PREBUILT_LIB_DIR]
#
# llama-embedding is compiled from llama.cpp's source against its prebuilt CPU libraries (the
# ones node-llama-cpp ships, as scripts/compare-llamacpp.sh does for llama-bench), into a copy
# of the library folder under ~/.cache/vkgraph/peer-embedding (ggml loads its CPU backends from
# the executable's folder).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-/work/peer/llama.cpp}
libs=${2:-/work/peer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/peer-embedding"
model="$top/models/bundled/stories260K.gguf"
out="$top/tests/data/embeddings/stories260K.json"
[ -f "$src/examples/embedding/embedding.cpp" ] || { echo "no llama.cpp source at $src" >&2; exit 1; }
mkdir -p "$cache"
cp -u "$libs"/*.so "$cache/"
lib() { ls "$cache" | grep -E "^$1\.v[0-9.]+\.so$" | head -n 1; }
if [ ! -x "$cache/llama-embedding" ]; then
  echo "reference-embeddings: compiling llama-embedding" >&2
  g++ -std=c++17 -O2 -DNDEBUG -I "$src/common" -I "$src/include" -I "$src/ggml/include" -I "$src/vendor" \
      "$src/examples/embedding/embedding.cpp" -o "$cache/llama-embedding" -L "$cache" \
      -lllama-common -l:"$(lib libllama)" -l:"$(lib libggml)" -lggml-base -Wl,-rpath,"$cache" -lpthread
fi
# One text per line (llama-embedding's default separator); each is embedded on its own.
texts=$'Once upon a time, there was a little girl named Lily.\nThe cat sat on the mat.\nTom and Sue went to the park to play with a big red ball. They had fun all day.'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for pooling in mean cls last; do
  "$cache/llama-embedding" -m "$model" -p "$texts" --pooling "$pooling" --embd-normalize 2 \
    --embd-output-format json -c 256 -t 2 2>"$tmp/$pooling.log" >"$tmp/$pooling.json" ||
    { cat "$tmp/$pooling.log" >&2; exit 1; }
done
python3 - "$tmp" "$out" "$texts" <<'PY'
import json, sys
tmp, out, texts = sys.argv[1], sys.argv[2], sys.argv[3].split("\n")
ref = {"model": "stories260K.gguf", "producer": "llama.cpp llama-embedding --embd-normalize 2", "texts": texts}
for pooling in ("mean", "cls", "last"):
    data = json.load(open(f"{tmp}/{pooling}.json"))["data"]
    ref[pooling] = [[round(x, 7) for x in d["embedding"]] for d in data]
json.dump(ref, open(out, "w"), indent=1)
print(f"reference-embeddings: wrote {out}")
PY
