#!/usr/bin/env python3
"""An independent decoder of GGUF weight blocks, written from the block layouts of ggml's
ggml-common.h and the value formulas of its reference decoders, in plain Python (no numpy).

  gguf_dequantize.py FILE OUT ROWS_PER_TENSOR

Writes to OUT, for every tensor of FILE in file order, ROWS_PER_TENSOR of its rows (the first,
the last and rows evenly spread between them; all rows when it has fewer) as little-endian f32,
preceded by a line of text naming the tensor, its type and the row indices. tests/test_dequantize
compares these bytes with engine/core's decoders.

Every float operation of the C reference is reproduced with one rounding to f32: Python computes
in double, and rounding a double result of one +, -, * of two f32 values to f32 gives the f32
result exactly (double has more than twice f32's precision plus two bits).
"""
import array
import struct
import sys

F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 = 0, 1, 2, 3, 6, 7, 8
Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16 = 10, 11, 12, 13, 14, 20, 23, 30
NAMES = {F32: "f32", F16: "f16", Q4_0: "q4_0", Q4_1: "q4_1", Q5_0: "q5_0", Q5_1: "q5_1", Q8_0: "q8_0",
         Q2_K: "q2_k", Q3_K: "q3_k", Q4_K: "q4_k", Q5_K: "q5_k", Q6_K: "q6_k", IQ4_NL: "iq4_nl",
         IQ4_XS: "iq4_xs", BF16: "bf16"}
# (elements, bytes) of one block
BLOCK = {F32: (1, 4), F16: (1, 2), BF16: (1, 2), Q4_0: (32, 18), Q4_1: (32, 20), Q5_0: (32, 22),
         Q5_1: (32, 24), Q8_0: (32, 34), IQ4_NL: (32, 18), Q2_K: (256, 84), Q3_K: (256, 110),
         Q4_K: (256, 144), Q5_K: (256, 176), Q6_K: (256, 210), IQ4_XS: (256, 136)}
IQ4_LEVELS = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]


def f32(values):
    """Each double rounded to the nearest f32."""
    return list(array.array("f", values))


def half(b, at):
    return struct.unpack_from("<e", b, at)[0]


def mul(a, b):
    return f32([x * y for x, y in zip(a, b)])


def sub(a, b):
    return f32([x - y for x, y in zip(a, b)])


def add(a, b):
    return f32([x + y for x, y in zip(a, b)])


# ---- per block: returns the block's values as a list of floats ----

def nibble32(qs, j):
    """Weight j of a 32-element block of nibbles: byte j low nibble, byte j-16 high nibble."""
    return qs[j] & 15 if j < 16 else qs[j - 16] >> 4


def block_q8_0(b):
    d = half(b, 0)
    q = struct.unpack_from("<32b", b, 2)
    return mul([float(v) for v in q], [d] * 32)


def block_q4_0(b):
    d = half(b, 0)
    return mul([float(nibble32(b[2:18], j) - 8) for j in range(32)], [d] * 32)


def block_q4_1(b):
    d, m = half(b, 0), half(b, 2)
    return add(mul([float(nibble32(b[4:20], j)) for j in range(32)], [d] * 32), [m] * 32)


def fifth_bit(qh, j):
    return (struct.unpack("<I", qh)[0] >> j) & 1


def block_q5_0(b):
    d = half(b, 0)
    q = [nibble32(b[6:22], j) | fifth_bit(b[2:6], j) << 4 for j in range(32)]
    return mul([float(v - 16) for v in q], [d] * 32)


def block_q5_1(b):
    d, m = half(b, 0), half(b, 2)
    q = [nibble32(b[8:24], j) | fifth_bit(b[4:8], j) << 4 for j in range(32)]
    return add(mul([float(v) for v in q], [d] * 32), [m] * 32)


def block_iq4_nl(b):
    d = half(b, 0)
    return mul([d] * 32, [float(IQ4_LEVELS[nibble32(b[2:18], j)]) for j in range(32)])


def two_bits(qs, i):
    """Q2_K/Q3_K: weight i = 128*h + 32*s + l is bits 2s..2s+1 of qs[32*h + l]."""
    h, s, l = i // 128, (i % 128) // 32, i % 32
    return (qs[32 * h + l] >> (2 * s)) & 3


def block_q2_k(b):
    scales, qs = b[0:16], b[16:80]
    d, dmin = half(b, 80), half(b, 82)
    sc = mul([d] * 256, [float(scales[i // 16] & 15) for i in range(256)])
    mn = mul([dmin] * 256, [float(scales[i // 16] >> 4) for i in range(256)])
    return sub(mul(sc, [float(two_bits(qs, i)) for i in range(256)]), mn)


def block_q3_k(b):
    hmask, qs, scales = b[0:32], b[32:96], b[96:108]
    d = half(b, 108)

    def scale6(j):  # low nibble from scales[j % 8], top two bits from scales[8 + j % 4]
        low = scales[j] & 15 if j < 8 else scales[j - 8] >> 4
        return low | ((scales[8 + j % 4] >> (2 * (j // 4))) & 3) << 4

    sc = mul([d] * 256, [float(scale6(i // 16) - 32) for i in range(256)])
    q = [two_bits(qs, i) - (0 if (hmask[i % 32] >> (i // 32)) & 1 else 4) for i in range(256)]
    return mul(sc, [float(v) for v in q])


def scale_min_k4(packed, j):
    if j < 4:
        return packed[j] & 63, packed[j + 4] & 63
    return (packed[j + 4] & 15) | (packed[j - 4] >> 6) << 4, (packed[j + 4] >> 4) | (packed[j] >> 6) << 4


def nibble256(qs, i):
    """Q4_K/Q5_K: group g = i // 64 is 32 bytes; low nibbles first, then high."""
    byte = qs[32 * (i // 64) + i % 32]
    return byte & 15 if i % 64 < 32 else byte >> 4


def block_q4_k(b):
    d, dmin, packed, qs = half(b, 0), half(b, 2), b[4:16], b[16:144]
    sm = [scale_min_k4(packed, i // 32) for i in range(256)]
    sc = mul([d] * 256, [float(s) for s, _ in sm])
    mn = mul([dmin] * 256, [float(m) for _, m in sm])
    return sub(mul(sc, [float(nibble256(qs, i)) for i in range(256)]), mn)


def block_q5_k(b):
    d, dmin, packed, qh, qs = half(b, 0), half(b, 2), b[4:16], b[16:48], b[48:176]
    sm = [scale_min_k4(packed, i // 32) for i in range(256)]
    sc = mul([d] * 256, [float(s) for s, _ in sm])
    mn = mul([dmin] * 256, [float(m) for _, m in sm])
    q = [nibble256(qs, i) | ((qh[i % 32] >> (i // 32)) & 1) << 4 for i in range(256)]
    return sub(mul(sc, [float(v) for v in q]), mn)


def block_q6_k(b):
    ql, qh = b[0:128], b[128:192]
    scales = struct.unpack_from("<16b", b, 192)
    d = half(b, 208)

    def q6(i):
        h, s, l = i // 128, (i % 128) // 32, i % 32
        byte = ql[64 * h + l + 32 * (s & 1)]
        low = byte & 15 if s < 2 else byte >> 4
        return (low | ((qh[32 * h + l] >> (2 * s)) & 3) << 4) - 32

    sc = mul([d] * 256, [float(scales[i // 16]) for i in range(256)])
    return mul(sc, [float(q6(i)) for i in range(256)])


def block_iq4_xs(b):
    d = half(b, 0)
    scales_h = struct.unpack_from("<H", b, 2)[0]
    scales_l, qs = b[4:8], b[8:136]

    def ls(j):
        return ((scales_l[j // 2] >> (4 * (j % 2))) & 15) | ((scales_h >> (2 * j)) & 3) << 4

    sc = mul([d] * 256, [float(ls(i // 32) - 32) for i in range(256)])
    return mul(sc, [float(IQ4_LEVELS[nibble32(qs[16 * (i // 32):], i % 32)]) for i in range(256)])


def block_f32(b):
    return [struct.unpack("<f", b)[0]]


def block_f16(b):
    return [half(b, 0)]


def block_bf16(b):
    return [struct.unpack("<f", b"\0\0" + b)[0]]


DECODERS = {F32: block_f32, F16: block_f16, BF16: block_bf16, Q8_0: block_q8_0, Q4_0: block_q4_0,
            Q4_1: block_q4_1, Q5_0: block_q5_0, Q5_1: block_q5_1, IQ4_NL: block_iq4_nl, Q2_K: block_q2_k,
            Q3_K: block_q3_k, Q4_K: block_q4_k, Q5_K: block_q5_k, Q6_K: block_q6_k, IQ4_XS: block_iq4_xs}


# ---- GGUF ----

def read_gguf(path):
    data = open(path, "rb").read()
    at = 0

    def take(fmt):
        nonlocal at
        v = struct.unpack_from(fmt, data, at)
        at += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal at
        n = take("<Q")
        s = data[at:at + n].decode("utf-8")
        at += n
        return s

    scalar = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
              12: "<d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert data[:4] == b"GGUF", path
    at = 4
    take("<I")  # version
    n_tensors, n_kv = take("<Q"), take("<Q")
    kv = {}
    for _ in range(n_kv):
        key = string()
        kv[key] = value(take("<I"))
    tensors = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("<Q") for _ in range(take("<I"))]
        tensors.append((name, dims, take("<I"), take("<Q")))
    align = kv.get("general.alignment", 32)
    base = (at + align - 1) // align * align
    return data, base, tensors


def main():
    path, out_path, per_tensor = sys.argv[1], sys.argv[2], int(sys.argv[3])
    data, base, tensors = read_gguf(path)
    with open(out_path, "wb") as out:
        for name, dims, ggml_type, offset in tensors:
            elements, block_bytes = BLOCK[ggml_type]
            cols = dims[0]
            rows = 1
            for d in dims[1:]:
                rows *= d
            row_bytes = cols // elements * block_bytes
            picked = sorted({round(k * (rows - 1) / max(per_tensor - 1, 1)) for k in range(min(per_tensor, rows))})
            out.write(("%s %s %s\n" % (name, NAMES[ggml_type], " ".join(map(str, picked)))).encode())
            for r in picked:
                start = base + offset + r * row_bytes
                values = []
                for blk in range(cols // elements):
                    at = start + blk * block_bytes
                    values += DECODERS[ggml_type](data[at:at + block_bytes])
                out.write(array.array("f", values).tobytes())


if __name__ == "__main__":
    main()
