#!/usr/bin/env bash
# Writes llama.cpp's logits for a LongRoPE model (tests/data/reference/tiny-phi3-longrope.json,
# the reference of tests/test_model_longrope.cpp): ../shared/models/tiny-phi3-f16.gguf with
# LongRoPE added by tests/reference/longrope_fixture.py (original context 256, factor 4), its
# shared reference prompt repeated to 96 tokens (positions far enough apart for the factor sets
# to rotate differently), at a context of 256 (llama.cpp uses the short factors) and of 512 (the
# long ones). Rows 23, 47, 71 and 95 of each are kept: the file stays small, and the rows span
# the positions.
#
#   bash scripts/reference-longrope.sh [LLAMA_CPP_SOURCE] [PREBUILT_LIB_DIR]
#
# The dumper (scripts/reference/llama_logits.cpp) is compiled against llama.cpp's prebuilt CPU
# libraries (node-llama-cpp's, as scripts/reference-embeddings.sh does) into
# ~/.cache/vkgraph/peer-logits.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-/work/peer/llama.cpp}
libs=${2:-/work/peer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64}
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/peer-logits"
shared="$top/../shared"
out="$top/tests/data/reference/tiny-phi3-longrope.json"
[ -f "$src/include/llama.h" ] || { echo "no llama.cpp source at $src" >&2; exit 1; }
mkdir -p "$cache" "$(dirname "$out")"
cp -u "$libs"/*.so "$cache/"
lib() { ls "$cache" | grep -E "^$1\.v[0-9.]+\.so$" | head -n 1; }
if [ ! -x "$cache/llama_logits" ] || [ "$top/scripts/reference/llama_logits.cpp" -nt "$cache/llama_logits" ]; then
  g++ -std=c++17 -O2 -I "$src/include" -I "$src/ggml/include" "$top/scripts/reference/llama_logits.cpp" \
    -o "$cache/llama_logits" -L "$cache" -l:"$(lib libllama)" -l:"$(lib libggml)" -lggml-base \
    -Wl,-rpath,"$cache" -lpthread
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/tests/reference/longrope_fixture.py" "$shared/models/tiny-phi3-f16.gguf" "$tmp/model.gguf" 256 4
tokens=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tokens"]; print(",".join(map(str, (t*3)[:96])))' \
  "$shared/reference/logits/tiny-phi3-f16.json")
for ctx in 256 512; do
  "$cache/llama_logits" "$tmp/model.gguf" "$ctx" "$tokens" >"$tmp/$ctx.json" 2>"$tmp/$ctx.log" ||
    { cat "$tmp/$ctx.log" >&2; exit 1; }
done
python3 - "$tmp" "$out" <<'PY'
import hashlib, json, sys
tmp, out = sys.argv[1], sys.argv[2]
ref = {"model": "tiny-phi3-f16.gguf + tests/reference/longrope_fixture.py 256 4",
       "model_sha256": hashlib.sha256(open(f"{tmp}/model.gguf", "rb").read()).hexdigest(),
       "producer": "llama.cpp CPU (node-llama-cpp prebuilt libraries), scripts/reference/llama_logits.cpp"}
ref["rows"] = [23, 47, 71, 95]
for ctx in (256, 512):
    run = json.load(open(f"{tmp}/{ctx}.json"))
    ref["tokens"] = run["tokens"]
    rows = [[float(f"{x:.6g}") for x in run["logits"][i]] for i in ref["rows"]]
    ref[f"ctx{ctx}"] = {"n_ctx_seq": run["n_ctx_seq"], "logits": rows}
json.dump(ref, open(out, "w"), separators=(",", ":"))
print(f"reference-longrope: wrote {out}")
PY
