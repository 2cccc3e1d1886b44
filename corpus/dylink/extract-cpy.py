#!/usr/bin/env python3
"""Extract the dylink.0 libraries componentize-py embeds.

usage: extract-cpy.py ABI3_SO OUT_DIR

componentize-py (PyPI wheel) carries its libraries zstd-compressed inside
componentize_py.abi3.so. Every zstd frame is decompressed; outputs that are
core modules whose first section is `dylink.0` are shared libraries, named
from their own `needed` lists where another library names them, else by
position. Writes OUT_DIR/<name> and OUT_DIR/names.txt (one `name size` per line).
"""
import os
import sys

import zstandard

MAGIC = b"\x28\xb5\x2f\xfd"


def frames(data):
    d = zstandard.ZstdDecompressor()
    at = data.find(MAGIC)
    while at >= 0:
        try:
            reader = d.stream_reader(data[at:], read_across_frames=False)
            out = reader.read(1 << 30)
            if out:
                yield out
        except zstandard.ZstdError:
            pass
        at = data.find(MAGIC, at + 4)


def leb(b, i):
    v = s = 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return v, i


def dylink_needed(m):
    """The needed list if the module starts with a dylink.0 section, else None."""
    if m[:8] != b"\0asm\x01\0\0\0" or m[8] != 0:
        return None
    size, i = leb(m, 9)
    end = i + size
    n, i = leb(m, i)
    if m[i : i + n] != b"dylink.0":
        return None
    i += n
    needed = []
    while i < end:
        kind = m[i]
        ln, i = leb(m, i + 1)
        if kind == 2:
            count, j = leb(m, i)
            for _ in range(count):
                k, j = leb(m, j)
                needed.append(m[j : j + k].decode())
                j += k
        i += ln
    return needed


# Which library is which: a dylink.0 section carries no name of its own,
# so each is told by an export only it has.
SIGNS = [
    (b"\x04mmap", "libwasi-emulated-mman.so"),
    (b"getrusage", "libwasi-emulated-process-clocks.so"),
    (b"\x06getpid", "libwasi-emulated-getpid.so"),
    (b"strsignal", "libwasi-emulated-signal.so"),
    (b"\x06dlopen", "libdl.so"),
]


def name_of(f, needed):
    if not needed:
        return "libc.so"
    if b"Py_Initialize" in f and b"PyInit_componentize_py_runtime" not in f:
        return "libpython3.14.so"
    if "libc++abi.so" in needed:
        return "libc++.so"
    if b"__cxa_bad_cast" in f:
        return "libc++abi.so"
    if b"PyInit_componentize_py_runtime" in f:
        return None
    for sign, name in SIGNS:
        if sign in f:
            return name
    return None


def main(so, out):
    data = open(so, "rb").read()
    libs = []
    for f in frames(data):
        needed = dylink_needed(f)
        if needed is not None:
            libs.append((f, needed))
    os.makedirs(out, exist_ok=True)
    runtimes = 0
    with open(os.path.join(out, "names.txt"), "w") as names:
        for k, (f, needed) in enumerate(libs):
            name = name_of(f, needed)
            if name is None:
                runtimes += 1
                name = f"libcomponentize_py_runtime-{runtimes}.so"
            open(os.path.join(out, name), "wb").write(f)
            names.write(f"{name} {len(f)} needs {' '.join(needed)}\n")
    print(f"{len(libs)} libraries", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
