#!/usr/bin/env bash
# Builds the Linux packages of KaryoStation from this checkout:
#   <target>/debian/karyostation_<version>-1_<arch>.deb     (cargo-deb)
#   <target>/dist/karyostation-<version>-<arch>-linux.tar.gz (portable folder)
# Both hold the release binary, the models (models/), the ONNX Runtime
# library from its PyPI wheel with its licence and notices, the man pages,
# the icons and .desktop entry, and the third-party licence list.
# Needs: Rust, python3 with pip (for the onnxruntime wheel), cargo-deb
# (installed with `cargo install cargo-deb --locked` when missing) and
# dpkg-dev for the shared-library dependencies (apt, when missing).
# Prints the two package paths on its last two lines.
set -euo pipefail
cd "$(dirname "$0")/../.."

need_apt=()
command -v dpkg-shlibdeps >/dev/null || need_apt+=(dpkg-dev)
command -v strip >/dev/null || need_apt+=(binutils)
if [ ${#need_apt[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
    echo "installing ${need_apt[*]}" >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if ! cargo deb --version >/dev/null 2>&1; then
    echo "installing cargo-deb from crates.io" >&2
    cargo install cargo-deb --locked --quiet
fi

meta="$(cargo metadata --no-deps --format-version 1 --locked)"
field() { python3 -c "import json,sys; m=json.load(sys.stdin); print($1)" <<<"$meta"; }
target_dir="$(field 'm["target_directory"]')"
version="$(field '[p for p in m["packages"] if p["name"]=="karyostation"][0]["version"]')"
arch="$(uname -m)"
release="$target_dir/release"
stage="$release/package"

cargo build --release --locked
rm -rf "$stage"
mkdir -p "$stage/ort" "$stage/man"

# The ONNX Runtime library, its licence and third-party notices.
packaging/fetch-onnxruntime.sh "$stage/ort" >&2

# Manual pages: karyostation(1) and one per subcommand, generated from the CLI.
"$release/karyostation" manpage "$stage/man.roff"
for page in "$stage"/man.roff/*.1; do
    gzip -9n <"$page" >"$stage/man/$(basename "$page").gz"
done
rm -rf "$stage/man.roff"

# Third-party licences: every linked crate, plus the bundled non-Rust parts.
python3 packaging/third-party-licenses.py "$stage/THIRD-PARTY-LICENSES.txt" \
    --extra "ONNX Runtime (bundled shared library; notices in onnxruntime/ThirdPartyNotices.txt)=$stage/ort/onnxruntime-LICENSE.txt" \
    --extra "DejaVu Sans (font embedded in the binary for karyogram exports)=assets/fonts/DejaVu-LICENSE.txt" \
    --extra "ADIR M-FISH demo images (embedded in the binary)=assets/demo/adir/LICENSE-ADIR.md" \
    --extra "ISCN band tables (embedded in the binary)=assets/bands/README.md" >&2

# The .deb (binary already built; cargo-deb strips it).
mkdir -p "$target_dir/debian"
cargo deb --no-build --locked --output "$target_dir/debian" >&2
deb="$target_dir/debian/karyostation_${version}-1_$(dpkg --print-architecture).deb"
[ -f "$deb" ] || { echo "error: cargo-deb did not write $deb" >&2; exit 1; }

# The portable folder: runs from wherever it is unpacked (the program looks for
# lib/ and models/ beside itself); user data still goes to the user data directory.
name="karyostation-${version}-${arch}-linux"
portable="$stage/portable/$name"
mkdir -p "$portable/lib" "$portable/models" "$portable/man/man1" "$portable/doc/onnxruntime" "$portable/icons"
cp "$release/karyostation" "$portable/"
strip "$portable/karyostation"
cp -L "$stage/ort/libonnxruntime.so" "$portable/lib/libonnxruntime.so"
cp "$stage/ort/onnxruntime-LICENSE.txt" "$portable/doc/onnxruntime/LICENSE"
cp "$stage/ort/onnxruntime-ThirdPartyNotices.txt" "$portable/doc/onnxruntime/ThirdPartyNotices.txt"
cp models/models.json models/*.onnx models/*.card.md models/*.metrics.json "$portable/models/"
cp "$stage"/man/*.1.gz "$portable/man/man1/"
cp LICENSE README.md CHANGELOG.md "$stage/THIRD-PARTY-LICENSES.txt" \
    assets/demo/adir/LICENSE-ADIR.md assets/fonts/DejaVu-LICENSE.txt "$portable/doc/"
cp assets/icons/karyostation-256.png assets/icons/karyostation.svg "$portable/icons/"
cp packaging/linux/portable/README.txt packaging/linux/portable/install-desktop-entry.sh "$portable/"
mkdir -p "$target_dir/dist"
tarball="$target_dir/dist/$name.tar.gz"
tar -C "$stage/portable" -czf "$tarball" "$name"

echo "$deb"
echo "$tarball"
