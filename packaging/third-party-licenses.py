#!/usr/bin/env python3
"""Writes the third-party licence list of the KaryoStation binary.

Reads `cargo metadata` (the locked dependency graph for one target platform,
default features), keeps the crates the binary links (normal dependencies of
normal dependencies, from the root package; build scripts and dev-dependencies
are not shipped), and writes one text file: a table of crate, version, licence
expression and repository, then every distinct licence text found in the
crates' sources (LICENSE*, LICENCE*, COPYING*, NOTICE*), each listed once with
the crates that carry it. Crates that ship no licence file are named with
their SPDX expression. The bundled non-Rust parts (ONNX Runtime, DejaVu fonts,
ADIR demo images, band tables) are appended from the files given with
--extra NAME=PATH.

Usage: packaging/third-party-licenses.py OUT.txt [--target TRIPLE] [--extra NAME=PATH ...]
Needs only python3 and cargo (no network when the registry is already fetched).
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

LICENCE_PREFIXES = ("license", "licence", "copying", "notice", "unlicense")
# KaryoStation's own LICENSE is the unmodified Apache-2.0 text.
APACHE_TEXT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "LICENSE")
MIT_TEXT = """Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE."""


def metadata(target):
    cmd = ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def shipped_packages(meta):
    """Packages reachable from the root through normal (non-build, non-dev) edges."""
    nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
    root = meta["resolve"]["root"]
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        for dep in nodes[pid]["deps"]:
            if any(k["kind"] is None for k in dep["dep_kinds"]):
                todo.append(dep["pkg"])
    seen.discard(root)
    packages = {p["id"]: p for p in meta["packages"]}
    return sorted((packages[i] for i in seen), key=lambda p: (p["name"], p["version"]))


def licence_files(package):
    """Licence files at the crate's top level, plus the licences of bundled
    fonts (`fonts/*.txt`, e.g. egui's default fonts)."""
    folder = os.path.dirname(package["manifest_path"])
    found = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and name.lower().startswith(LICENCE_PREFIXES):
            found.append(path)
    fonts = os.path.join(folder, "fonts")
    if os.path.isdir(fonts):
        found += [os.path.join(fonts, n) for n in sorted(os.listdir(fonts)) if n.endswith(".txt")]
    if package.get("license_file"):
        path = os.path.join(folder, package["license_file"])
        if os.path.isfile(path) and path not in found:
            found.append(path)
    return found


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace").strip()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--target", default="x86_64-unknown-linux-gnu")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()

    meta = metadata(args.target)
    packages = shipped_packages(meta)
    texts = {}  # digest -> (text, [crate names])
    missing = []
    rows = []
    for p in packages:
        label = f"{p['name']} {p['version']}"
        rows.append((label, p.get("license") or "(see licence file)", p.get("repository") or ""))
        files = licence_files(p)
        if not files:
            missing.append((label, p.get("license") or "unknown"))
        for path in files:
            text = read_text(path)
            digest = hashlib.sha256(text.encode()).hexdigest()
            texts.setdefault(digest, (text, []))[1].append(f"{label} ({os.path.basename(path)})")

    out = []
    out.append("KaryoStation: third-party software")
    out.append("=" * 34)
    out.append("")
    out.append(f"The karyostation binary links {len(packages)} Rust crates ({args.target}, default features).")
    out.append("Each is listed with its licence expression; the licence texts follow, each once.")
    out.append("")
    width = max(len(r[0]) for r in rows)
    for label, licence, repo in rows:
        out.append(f"{label.ljust(width)}  {licence}  {repo}".rstrip())
    if missing:
        out.append("")
        out.append("Crates whose published source carries no licence file; their SPDX licence applies,")
        out.append("with the standard texts of MIT and Apache-2.0 given below:")
        for label, licence in missing:
            out.append(f"  {label}: {licence}")
    for extra in args.extra:
        name, _, path = extra.partition("=")
        if not os.path.isfile(path):
            sys.exit(f"error: --extra {name}: no file {path}")
        out.append("")
        out.append("-" * 78)
        out.append(name)
        out.append("-" * 78)
        out.append(read_text(path))
    if missing:
        out.append("")
        out.append("-" * 78)
        out.append("Standard text: MIT")
        out.append("-" * 78)
        out.append(MIT_TEXT)
        out.append("")
        out.append("-" * 78)
        out.append("Standard text: Apache-2.0")
        out.append("-" * 78)
        out.append(read_text(APACHE_TEXT))
    for text, crates in sorted(texts.values(), key=lambda t: t[1][0]):
        out.append("")
        out.append("-" * 78)
        out.append("Licence text of: " + ", ".join(crates))
        out.append("-" * 78)
        out.append(text)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    print(f"{args.out}: {len(packages)} crates, {len(texts)} distinct licence texts, "
          f"{len(missing)} crates without a licence file")


if __name__ == "__main__":
    main()
