#!/usr/bin/env bash
# Writes tests/data/tokenizer-llamacpp.jsonl: llama.cpp's token ids (no BOS, special tokens parsed)
# of 400 texts with the two real vocabularies of ../shared/models (Llama 3, Qwen3), from the
# llama.cpp release that the npm package node-llama-cpp 3.22.1 ships (its prebuilt libllama, as
# scripts/compare-llamacpp.sh uses it). The texts are deterministic mixtures of words, contractions
# in both cases, digit runs, many scripts, emoji, whitespace runs and special tokens' texts, which
# the 20 lines of ../shared/reference/tokenizer-*.jsonl sample only thinly.
#   bash tests/data/gen_tokenizer_llamacpp.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/vkgraph/compare"
peer="$cache/node-llama-cpp-3.22.1"
if [ ! -d "$peer/node_modules/node-llama-cpp" ]; then
  mkdir -p "$peer"
  npm install --prefix "$peer" --ignore-scripts --no-audit --no-fund node-llama-cpp@3.22.1 >/dev/null
fi
src="$peer/llama.cpp"
[ -d "$src/include" ] || git clone -q "$peer/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$src" 2>/dev/null
bins="$peer/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/tokenize.cpp" <<'CPP'
// One JSON string a line in, llama.cpp's ids out (vocabulary only, no BOS, specials parsed).
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
#include "llama.h"
int main(int, char** argv) {
  llama_backend_init();
  llama_model_params params = llama_model_default_params();
  params.vocab_only = true;
  llama_model* model = llama_model_load_from_file(argv[1], params);
  if (!model) return 1;
  const llama_vocab* vocab = llama_model_get_vocab(model);
  for (std::string line; std::getline(std::cin, line);) {
    const std::string text = nlohmann::json::parse(line).get<std::string>();
    std::vector<llama_token> ids(text.size() * 2 + 16);
    const int n = llama_tokenize(vocab, text.data(), int32_t(text.size()), ids.data(), int32_t(ids.size()), false, true);
    for (int i = 0; i < n; ++i) std::cout << (i ? "," : "") << ids[i];
    std::cout << "\n";
  }
}
CPP
g++ -std=c++17 -O1 -I "$src/include" -I "$src/ggml/include" "$work/tokenize.cpp" -o "$work/tokenize" -L "$bins" \
  -l:"$(ls "$bins" | grep -E '^libllama\.v[0-9.]+\.so$')" -l:"$(ls "$bins" | grep -E '^libggml\.v[0-9.]+\.so$')" \
  -lggml-base -Wl,-rpath,"$bins"

python3 - "$work" <<'PY'
import json, random, sys
work = sys.argv[1]
random.seed(18)
pieces = ["Hello", " world", "  ", "\t", "\n", "\r\n", "\n\n\n", "   \n  ", "I'M", "you'RE", "it's", "'s", "'ll", "'D",
          "123", "1234567", "3.14159", "-42", "1,000,000", "２０２４", "٣٤٥", "½", "x²", "café", "naïve", "Ω", "ß",
          "İstanbul", "你好", "世界", "日本語", "한국어", "مرحبا", "नमस्ते", "😀", "👨‍👩‍👧", "❤️", "🇫🇷", "e\u0301",
          "\u200b", "\u00a0", "\u3000", "def f(x):", "    return x", "{}", "[1, 2]", "snake_case", "CamelCase",
          "https://x.y/z?q=1", "...", "!!!", "—", "«»", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>",
          "<|eot_id|>", "<|start_header_id|>", "<think>", "</think>", "<|endoftext|>", "<s>", "</s>", "[INST]", "A",
          "9Z", "'", "\""]
texts = ["".join(random.choice(pieces) for _ in range(random.randint(1, 10))) for _ in range(400)]
with open(f"{work}/texts.jsonl", "w", encoding="utf-8") as f:
    for t in texts:
        f.write(json.dumps(t) + "\n")
with open(f"{work}/texts.json", "w", encoding="utf-8") as f:
    json.dump(texts, f, ensure_ascii=False)
PY
"$work/tokenize" "$top/../shared/models/llama3-vocab-q8_0.gguf" < "$work/texts.jsonl" > "$work/llama3.txt" 2>/dev/null
"$work/tokenize" "$top/../shared/models/qwen3-vocab-q8_0.gguf" < "$work/texts.jsonl" > "$work/qwen3.txt" 2>/dev/null
python3 - "$work" "$top/tests/data/tokenizer-llamacpp.jsonl" <<'PY'
import json, sys
work, out = sys.argv[1], sys.argv[2]
texts = json.load(open(f"{work}/texts.json", encoding="utf-8"))
ids = {v: [[int(x) for x in l.split(",")] if l else [] for l in open(f"{work}/{v}.txt").read().split("\n")[:len(texts)]]
       for v in ("llama3", "qwen3")}
with open(out, "w", encoding="utf-8") as f:
    for i, t in enumerate(texts):
        f.write(json.dumps({"text": t, "llama3": ids["llama3"][i], "qwen3": ids["qwen3"][i]}, ensure_ascii=False) + "\n")
print(f"wrote {len(texts)} texts to {out}")
PY
