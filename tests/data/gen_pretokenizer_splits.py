#!/usr/bin/env python3
"""Writes pretokenizer-splits.json: how the pre-tokenizer patterns of gpt2, smollm, llama3 and qwen2
(as llama.cpp lists them) split the reference texts and random strings, computed with the Python
`regex` module (which has \\p{L} and lookahead). Needs ../shared/reference/tokenizer-texts.jsonl.
Run: python3 tests/data/gen_pretokenizer_splits.py tests/data/pretokenizer-splits.json
"""
import json, regex, random, sys
P = {
 "gpt2": [r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"],
 "smollm": [r"\p{N}", r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"],
 "llama3": [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
 "qwen2": [r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"],
}
def split(pats, text):
    frags=[text]
    for p in pats:
        out=[]
        for f in frags:
            pos=0
            for m in regex.finditer(p, f):
                if m.start()>pos: out.append(f[pos:m.start()])
                out.append(m.group()); pos=m.end()
            if pos<len(f): out.append(f[pos:])
        frags=out
    return frags
texts=[json.loads(l)["text"] for l in open(__import__("os").path.join(__import__("os").path.dirname(__file__), "../../../shared/reference/tokenizer-texts.jsonl"))]
random.seed(5)
alphabet=list("aZ09 '\t\n\r.,!?-_")+[" "]*4+["\u00e9","\u4e16","\u0663","\u2764","\u3000","\u00a0","\U0001F600","\u2581","'S","'LL","'re"]
for _ in range(200):
    texts.append("".join(random.choice(alphabet) for _ in range(random.randint(1,14))))
cases=[]
for t in texts:
    cases.append({"text":t, **{k:split(v,t) for k,v in P.items()}})
json.dump(cases, open(sys.argv[1],"w"), ensure_ascii=True, indent=0)
print(len(cases))
