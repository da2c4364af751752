#!/usr/bin/env python3
"""Generates realistic image data for benchmarks, offline: an OCI image layout whose layers are
tar+gzip of real directory trees on this machine, three images sharing a base layer, a two-platform
index, one large layer of mixed compressible and random data, an uncompressed tar layer of text
files (how well compressible data shrinks), and a Helm chart; plus the
airlock.yaml that packs it all and refs.txt listing the images. About 1 GB at --scale 1 (--quick:
about 60 MB). Above 1, the mixed layer grows with the scale and each further whole unit adds an
image of fresh tree layers (the same files, marked so every layer has its own bytes and digest):
--scale 5 is about 5.5 GB.
"""
import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile

sys.path.insert(0, os.path.dirname(__file__))
from importlib import import_module  # noqa: E402

example = import_module("make-example")


def text_layer(roots, budget):
    """An uncompressed tar of the text files under `roots`, up to `budget` bytes; returns
    (tar, diff_id, media type)."""
    raw = io.BytesIO()
    used = 0
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for root in roots:
            for folder, dirs, names in os.walk(root):
                dirs.sort()
                for name in sorted(names):
                    path = os.path.join(folder, name)
                    if used >= budget or os.path.islink(path) or not name.endswith((".h", ".pm", ".pl", ".txt", ".py")):
                        continue
                    try:
                        with open(path, "rb") as f:
                            data = f.read(1 << 20)
                    except OSError:
                        continue
                    info = tarfile.TarInfo(path.lstrip("/"))
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
                    used += len(data)
    plain = raw.getvalue()
    return plain, "sha256:" + hashlib.sha256(plain).hexdigest(), "application/vnd.oci.image.layer.v1.tar"


def tree_layer(roots, budget, marker=b""):
    """tar+gzip of real files under `roots`, up to `budget` bytes of file data; a non-empty
    `marker` goes in first, as etc/bench-copy, so copies differ."""
    files = []
    for root in roots:
        for folder, dirs, names in os.walk(root):
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(folder, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue
                try:
                    size = os.path.getsize(path)
                except OSError:
                    continue
                files.append((path, size))
    raw = io.BytesIO()
    used = 0
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        if marker:
            info = tarfile.TarInfo("etc/bench-copy")
            info.size = len(marker)
            tar.addfile(info, io.BytesIO(marker))
        for path, size in sorted(files):
            if used >= budget:
                break
            if size > budget - used or size > 64 << 20:
                continue
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
            used += len(data)
    plain = raw.getvalue()
    return gzip.compress(plain, compresslevel=6, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    mb = (1 << 20) * (0.06 if args.quick else args.scale)
    tree_mb = min(mb, 1 << 20)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    layout = example.Layout(os.path.join(out, "oci"))

    def trees(marker=b""):
        return [tree_layer(["/usr/share", "/usr/lib/python3"], int(400 * tree_mb), marker),
                tree_layer(["/usr/lib/x86_64-linux-gnu", "/usr/lib/gcc"], int(600 * tree_mb), marker),
                tree_layer(["/opt/swift/usr/lib/swift", "/opt/swift/usr/bin"], int(900 * tree_mb), marker),
                tree_layer(["/usr/bin", "/usr/sbin", "/usr/libexec"], int(250 * tree_mb), marker)]

    base, libs, swift, tools = trees()
    mixed_size = max(1, int(300 * mb) >> 20)
    data = example.mixed_data(mixed_size, 11)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("var/lib/data.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    plain = raw.getvalue()
    mixed = (gzip.compress(plain, compresslevel=1, mtime=0), "sha256:" + hashlib.sha256(plain).hexdigest())

    layout.tag(example.image(layout, [base, libs], "amd64", "runtime"), "runtime")
    layout.tag(example.image(layout, [base, libs, swift], "amd64", "builder"), "builder")
    layout.tag(example.image(layout, [base, tools, mixed], "amd64", "data"), "data")
    children = []
    for arch in ["amd64", "arm64"]:
        small = example.tar_layer({"bin/agent": ("agent for %s\n" % arch).encode() * 1000})
        descriptor = example.image(layout, [base, small], arch, "agent-" + arch)
        descriptor["platform"] = {"architecture": arch, "os": "linux"}
        children.append(descriptor)
    index = {"schemaVersion": 2, "mediaType": example.INDEX, "manifests": children}
    layout.tag(layout.json_blob(index, example.INDEX), "agent")
    text = text_layer(["/usr/include", "/usr/share/perl", "/usr/lib/python3"], int(60 * tree_mb))
    layout.tag(example.image(layout, [base, text], "amd64", "docs"), "docs")
    names = ["runtime", "builder", "data", "agent", "docs"]
    for copy in range(1, int(args.scale) if not args.quick else 1):
        layout.tag(example.image(layout, trees(b"copy %d\n" % copy), "amd64", "extra-%d" % copy), "extra-%d" % copy)
        names.append("extra-%d" % copy)
    layout.finish()

    chart = os.path.join(out, "chart")
    example.write(os.path.join(chart, "Chart.yaml"), "apiVersion: v2\nname: bench\nversion: 1.0.0\n")
    example.write(os.path.join(chart, "values.yaml"), "image: registry.example.com/bench/runtime:1\n")
    images = "".join("  - layout: ./oci\n    select: %s\n    name: registry.example.com/bench/%s:1\n" % (n, n) for n in names)
    example.write(os.path.join(out, "compressible.txt"), "oci/blobs/sha256/%s\n" % hashlib.sha256(text[0]).hexdigest())
    example.write(os.path.join(out, "refs.txt"), "".join("registry.example.com/bench/%s:1\n" % n for n in names))
    example.write(os.path.join(out, "airlock.yaml"),
                  "apiVersion: airlock/v1\nkind: Bundle\nmetadata:\n  name: bench\n  version: \"1\"\n"
                  "  created: \"2026-11-01T00:00:00Z\"\nimages:\n%scharts:\n  - path: ./chart\n" % images)
    print(out)


if __name__ == "__main__":
    sys.exit(main())
