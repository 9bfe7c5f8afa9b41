#!/usr/bin/python3
"""Writes the small .pt fixtures for tests/test_checkpoint.cpp.

Run with Debian's python3 (torch 1.13):
    /usr/bin/python3 tests/python/make_checkpoint_fixtures.py
It writes tests/fixtures/checkpoint/*.pt and expected.json, which holds the
shape and float32 values every loadable tensor must come back with. The
malicious fixtures only *reference* dangerous callables; nothing here calls them.
"""
import builtins
import collections
import io
import json
import os
import posix
import subprocess
import zipfile
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "checkpoint"
PWNED = "/tmp/ember_pwned"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip timestamps, so reruns write identical files


def ramp(*shape, offset=0.0, dtype=torch.float32):
    """Deterministic values: 0/7, 1/7, 2/7, ... (+ offset)."""
    n = 1
    for d in shape:
        n *= d
    return (torch.arange(n, dtype=torch.float64).reshape(shape) / 7 + offset).to(dtype)


def expected_of(state):
    return {k: {"shape": list(v.shape), "values": [float(x) for x in v.float().flatten()]}
            for k, v in state.items()}


def save(name, obj, protocol=2):
    path = OUT / name
    torch.save(obj, path, pickle_protocol=protocol)
    return path


class Payload:
    """Pickles as `func(*args)`: what a malicious checkpoint would run on load."""

    def __init__(self, func, args):
        self.func, self.args = func, args

    def __reduce__(self):
        return (self.func, self.args)


def fake_os_system():
    """Stands in for os.system while pickling so the file names `os.system`
    (the real one pickles as `posix.system`); never called."""
    raise AssertionError("never called")


def save_as_os_system(name, obj, protocol=2):
    real = os.system
    fake_os_system.__module__, fake_os_system.__qualname__ = "os", "system"
    os.system = fake_os_system
    try:
        return save(name, obj, protocol)
    finally:
        os.system = real


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    expected = {}

    # A tiny module's state_dict, exactly as torch.save writes it.
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.LayerNorm(5))
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(ramp(*p.shape, offset=i))
    state = model.state_dict()
    save("linear_layernorm.pt", state)
    expected["linear_layernorm.pt"] = expected_of(state)

    # Saved through a buffer: the archive's top folder is "archive/", not the file stem.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    (OUT / "archive_stem.pt").write_bytes(buffer.getvalue())
    expected["archive_stem.pt"] = expected_of(state)

    half = {"half": ramp(2, 3, dtype=torch.float16), "bfloat": ramp(3, 2, offset=-1, dtype=torch.bfloat16)}
    save("half_bfloat.pt", half)
    expected["half_bfloat.pt"] = expected_of(half)

    # torch.save keeps a view's storage, offset and strides.
    base = ramp(4, 6)
    strided = {"transposed": base.t(), "sliced": base[1:, 1::2], "column": base[:, 2]}
    assert not strided["transposed"].is_contiguous() and strided["sliced"].storage_offset() == 7
    save("noncontiguous.pt", strided)
    expected["noncontiguous.pt"] = expected_of(strided)

    flat = ramp(10)
    shared = {"head": flat[:6], "tail": flat[4:], "grid": flat.view(2, 5)}
    save("shared_storage.pt", shared)
    expected["shared_storage.pt"] = expected_of(shared)

    lightning = {"epoch": 3, "global_step": 120, "pytorch-lightning_version": "1.9.0",
                 "state_dict": collections.OrderedDict([("model.encoder.weight", ramp(2, 2)),
                                                        ("model.encoder.bias", ramp(2, offset=1)),
                                                        ("extra", ramp(1, offset=2))]),
                 "hyper_parameters": {"lr": 0.001}}
    save("lightning.pt", lightning)
    expected["lightning.pt"] = expected_of({"encoder.weight": ramp(2, 2), "encoder.bias": ramp(2, offset=1),
                                            "extra": ramp(1, offset=2)})

    # state_dict(keep_vars=True) keeps Parameters: pickled via _rebuild_parameter.
    parameters = torch.nn.Linear(2, 2).state_dict(keep_vars=True)
    with torch.no_grad():
        for i, p in enumerate(parameters.values()):
            p.copy_(ramp(*p.shape, offset=-i))
    save("parameters.pt", parameters)
    expected["parameters.pt"] = expected_of(parameters)

    save("int64.pt", {"weight": ramp(2), "steps": torch.arange(3)})

    # Malicious: each names a dangerous callable in a state_dict value. Protocol
    # 4 for the names protocol 2 would rewrite to Python 2's (__builtin__.eval,
    # commands.Popen); it also exercises STACK_GLOBAL, MEMOIZE and FRAME.
    payloads = {
        "evil_os_system.pt": (fake_os_system, ("touch " + PWNED,)),
        "evil_posix_system.pt": (posix.system, ("touch " + PWNED,)),
        "evil_builtins_eval.pt": (builtins.eval, ("__import__('os').system('touch %s')" % PWNED,)),
        "evil_subprocess_popen.pt": (subprocess.Popen, (["touch", PWNED],)),
    }
    for name, (func, args) in payloads.items():
        obj = collections.OrderedDict([("weight", ramp(2)), ("evil", Payload(func, args))])
        protocol = 4 if func.__module__ in ("builtins", "subprocess") else 2
        save_as_os_system(name, obj, protocol)
    save_as_os_system("evil_top_level.pt", Payload(fake_os_system, ("touch " + PWNED,)))
    # The payload sits outside the weights: the weights load, nothing runs.
    save("evil_outside_weights.pt", {"state_dict": {"weight": ramp(2)},
                                     "callbacks": Payload(posix.system, ("touch " + PWNED,))}, protocol=4)
    expected["evil_outside_weights.pt"] = expected_of({"weight": ramp(2)})
    # A tensor rebuilt from a storage a dangerous call would produce.
    fake_tensor = Payload(torch._utils._rebuild_tensor_v2,
                          (Payload(builtins.eval, ("bytearray(8)",)), 0, (2,), (1,), False,
                           collections.OrderedDict()))
    save("evil_tensor_storage.pt", {"weight": fake_tensor})

    # Damaged copies of linear_layernorm.pt.
    good = (OUT / "linear_layernorm.pt").read_bytes()
    (OUT / "truncated.pt").write_bytes(good[: len(good) // 2])
    with zipfile.ZipFile(io.BytesIO(good)) as archive:
        data0 = archive.getinfo("linear_layernorm/data/0")
        header = good[data0.header_offset:data0.header_offset + 30]
        start = data0.header_offset + 30 + int.from_bytes(header[26:28], "little") \
            + int.from_bytes(header[28:30], "little")
    flipped = bytearray(good)
    flipped[start + 5] ^= 0x10
    (OUT / "bitflip.pt").write_bytes(bytes(flipped))
    # Deflated entries (torch never writes these; other zip tools might).
    compressed = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, \
            zipfile.ZipFile(compressed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), src.read(info.filename),
                         compress_type=dst.compression)
    (OUT / "compressed.pt").write_bytes(compressed.getvalue())
    # Re-stored by Python's zipfile: 32-bit records only, no zip64.
    restored = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, \
            zipfile.ZipFile(restored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_TIME), src.read(info.filename),
                         compress_type=dst.compression)
    (OUT / "no_zip64.pt").write_bytes(restored.getvalue())
    expected["no_zip64.pt"] = expected_of(state)

    with open(OUT / "expected.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
