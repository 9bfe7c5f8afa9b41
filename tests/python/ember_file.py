"""A reader of .ember files (docs/FORMAT.md) for the tests: metadata and tensors.

    metadata, tensors = read_ember(path)   # dict key -> value, dict name -> torch.Tensor
"""

import struct

import numpy as np
import torch


def read_ember(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, _major, _minor, _flags, n_meta, n_tensors, data_offset, _size = struct.unpack_from("<4sIIIQQQQ", data)
    assert magic == b"EMBR", f"{path}: not an .ember file"
    at = 48

    def take(fmt):
        nonlocal at
        values = struct.unpack_from("<" + fmt, data, at)
        at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def text(length_format):
        nonlocal at
        n = take(length_format)
        at += n
        return data[at - n:at].decode()

    def array(dtype):
        nonlocal at
        n = take("Q")
        values = np.frombuffer(data, dtype=dtype, count=n, offset=at)
        at += n * np.dtype(dtype).itemsize
        return values.tolist()

    readers = {0: lambda: bool(take("B")), 1: lambda: take("q"), 2: lambda: take("d"), 3: lambda: text("Q"),
               4: lambda: array("<f4"), 5: lambda: array("<i4"), 6: lambda: [text("Q") for _ in range(take("Q"))]}
    metadata = {}
    for _ in range(n_meta):
        key = text("I")
        metadata[key] = readers[take("I")]()
    tensors = {}
    for _ in range(n_tensors):
        name = text("I")
        dtype, n_dims = take("II")
        assert dtype in (0, 1), f"{name}: dtype {dtype} is neither float32 nor float32_panels16"
        dims = [take("Q") for _ in range(n_dims)]
        offset = take("Q")
        if dtype == 0:
            values = np.frombuffer(data, dtype="<f4", count=int(np.prod(dims)), offset=data_offset + offset)
            tensors[name] = torch.from_numpy(values.copy()).reshape(dims)
        else:
            tensors[name] = unpack_panels(data, data_offset + offset, *dims)
    return metadata, tensors


def unpack_panels(data, at, rows, cols):
    """float32_panels16: ceil(rows / 16) panels, each cols x 16 floats; element
    (n, k) at [(n // 16) * cols * 16 + k * 16 + n % 16]; pad rows are zeros."""
    panels = -(-rows // 16)
    values = np.frombuffer(data, dtype="<f4", count=panels * cols * 16, offset=at)
    matrix = values.reshape(panels, cols, 16).transpose(0, 2, 1).reshape(panels * 16, cols)[:rows]
    return torch.from_numpy(matrix.copy())


def emformer_rnnt_config(metadata):
    """The keyword arguments of torchaudio.models.emformer_rnnt_model stored in the file."""
    prefix = "emformer_rnnt."
    return {key[len(prefix):]: value for key, value in metadata.items() if key.startswith(prefix)}
