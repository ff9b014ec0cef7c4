#!/usr/bin/env python3
"""Writes a copy of a Phi-3 GGUF with LongRoPE added, as Phi-3.5 and Phi-4-mini files carry it:
rope_factors_long.weight and rope_factors_short.weight (f32 [n_rot / 2]),
phi3.rope.scaling.original_context_length and phi3.rope.scaling.attn_factor, and
phi3.context_length raised to FACTOR x the original (what the attention factor is derived from).

  longrope_fixture.py IN OUT ORIGINAL_CONTEXT FACTOR

The factors are fixed, deterministic values (the long set grows from 1 to FACTOR across the
pairs, the short set stays near 1, as in the real files), so the output is the same bytes on
every run: tests/test_model_longrope.cpp builds it from ../shared/models/tiny-phi3-f16.gguf and
checks its SHA-256 against the one recorded with llama.cpp's reference logits
(scripts/reference-longrope.sh). Plain Python, no numpy: a GGUF is a header, key-value pairs,
tensor descriptions and aligned data.
"""
import math
import struct
import sys

# GGUF value types and the fixed sizes of the scalar ones.
U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
SCALAR = {U8: 1, I8: 1, U16: 2, I16: 2, U32: 4, I32: 4, F32: 4, BOOL: 1, U64: 8, I64: 8, F64: 8}
TENSOR_F32 = 0


class Reader:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        value = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return value[0] if len(value) == 1 else value

    def string(self):
        n = self.take("Q")
        s = self.data[self.at:self.at + n].decode("utf-8")
        self.at += n
        return s

    def skip_value(self, kind):
        if kind in SCALAR:
            self.at += SCALAR[kind]
        elif kind == STRING:
            self.string()
        elif kind == ARRAY:
            inner, n = self.take("I"), self.take("Q")
            for _ in range(n):
                self.skip_value(inner)
        else:
            raise ValueError(f"unknown GGUF value type {kind}")


def gguf_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def kv(key, kind, fmt, value):
    return gguf_string(key) + struct.pack("<I", kind) + struct.pack("<" + fmt, value)


def main():
    src, dst, original, factor = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    data = open(src, "rb").read()
    r = Reader(data)
    magic, version, n_tensors, n_kv = r.take("4s"), r.take("I"), r.take("Q"), r.take("Q")
    assert magic == b"GGUF" and version == 3, "expected a GGUF v3 file"
    kvs, alignment, n_rot, arch = [], 32, None, None
    for _ in range(n_kv):
        start = r.at
        key, kind = r.string(), r.take("I")
        value_at = r.at
        r.skip_value(kind)
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", data, value_at)[0]
        if key == "general.architecture":
            arch = Reader(data[value_at:]).string()
        if key == "phi3.rope.dimension_count":
            n_rot = struct.unpack_from("<I", data, value_at)[0]
        if key == "phi3.context_length":
            continue  # rewritten below
        kvs.append(data[start:r.at])
    assert arch == "phi3" and n_rot, "expected a phi3 file with phi3.rope.dimension_count"
    tensors = []
    for _ in range(n_tensors):
        name = r.string()
        dims = [r.take("Q") for _ in range(r.take("I"))]
        kind, offset = r.take("I"), r.take("Q")
        tensors.append((name, dims, kind, offset))
    data_start = (r.at + alignment - 1) // alignment * alignment
    tail_padding = (-(len(data) - data_start)) % alignment
    end = len(data) - data_start + tail_padding

    pairs = n_rot // 2
    # The long set rises smoothly from 1 (high frequencies kept) to `factor` (low frequencies
    # stretched); the short set stays close to 1. Different enough that picking the wrong set
    # moves the logits far past any rounding bound.
    long_factors = [1.0 + (factor - 1.0) * (i / (pairs - 1)) ** 2 for i in range(pairs)]
    short_factors = [1.0 + 0.25 * math.sin(i) ** 2 for i in range(pairs)]
    new = [("rope_factors_long.weight", long_factors), ("rope_factors_short.weight", short_factors)]
    blobs, offsets = [], []
    for _, values in new:
        offsets.append(end)
        blob = struct.pack(f"<{len(values)}f", *values)
        blobs.append(blob + b"\0" * ((-len(blob)) % alignment))
        end += len(blobs[-1])

    # llama.cpp's converter: attn_factor = sqrt(1 + ln(scale) / ln(original)), scale = max / original.
    attn_factor = math.sqrt(1.0 + math.log(factor) / math.log(original))
    kvs += [kv("phi3.context_length", U32, "I", int(original * factor)),
            kv("phi3.rope.scaling.original_context_length", U32, "I", original),
            kv("phi3.rope.scaling.attn_factor", F32, "f", attn_factor)]
    out = bytearray(struct.pack("<4sIQQ", b"GGUF", 3, n_tensors + len(new), len(kvs)))
    for blob in kvs:
        out += blob
    for name, dims, kind, offset in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
        out += struct.pack("<IQ", kind, offset)
    for (name, values), offset in zip(new, offsets):
        out += gguf_string(name) + struct.pack("<IQ", 1, len(values)) + struct.pack("<IQ", TENSOR_F32, offset)
    out += b"\0" * ((-len(out)) % alignment)
    out += data[data_start:] + b"\0" * tail_padding
    for blob in blobs:
        out += blob
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
