#!/usr/bin/env python3
"""Independent dequantization oracle for ReferenceOracleTests.swift: gguf-py's numpy dequantizers.

Each job is a line on stdin, tab-separated:
  raw    TYPE  IN_PATH  OUT_PATH                 IN_PATH holds whole blocks of TYPE (a ggml type name)
  tensor GGUF_PATH  TENSOR_NAME  ROWS  OUT_PATH  the first ROWS rows of a tensor, read with GGUFReader
OUT_PATH receives little-endian float32 values. Exit status 3 if numpy or gguf cannot be imported.
"""
import sys

try:
    import numpy as np
    import gguf
    from gguf.quants import dequantize
except Exception as e:  # the Swift test turns this into a visible skip
    print(f"oracle unavailable: {e}", file=sys.stderr)
    sys.exit(3)


def qtype(name):
    return gguf.GGMLQuantizationType[name]


def raw(type_name, in_path, out_path):
    t = qtype(type_name)
    data = np.fromfile(in_path, dtype=np.uint8)
    if t == gguf.GGMLQuantizationType.F32:
        out = data.view(np.float32)
    elif t == gguf.GGMLQuantizationType.F16:
        out = data.view(np.float16).astype(np.float32)
    else:
        out = dequantize(data, t)
    np.asarray(out, dtype="<f4").reshape(-1).tofile(out_path)


_readers = {}


def tensor(gguf_path, name, rows, out_path):
    reader = _readers.get(gguf_path)
    if reader is None:
        reader = _readers[gguf_path] = gguf.GGUFReader(gguf_path)
    t = next(t for t in reader.tensors if t.name == name)
    data = t.data
    if data.ndim == 1:
        data = data.reshape(1, -1)
    data = data[: int(rows)]
    if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        out = data.astype(np.float32)
    else:
        out = dequantize(data, t.tensor_type)
    np.asarray(out, dtype="<f4").reshape(-1).tofile(out_path)


for line in sys.stdin:
    fields = line.rstrip("\n").split("\t")
    if not fields or not fields[0]:
        continue
    if fields[0] == "raw":
        raw(*fields[1:])
    elif fields[0] == "tensor":
        tensor(*fields[1:])
    else:
        sys.exit(f"unknown job {fields[0]}")
