#!/usr/bin/env bash
# Adds this portable KaryoStation to the desktop menu of the current user
# (or removes it with --remove). Nothing outside ~/.local/share is touched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/256x256/apps"
if [ "${1:-}" = "--remove" ]; then
    rm -f "$apps/karyostation.desktop" "$icons/karyostation.png"
    echo "removed the KaryoStation menu entry"
    exit 0
fi
mkdir -p "$apps" "$icons"
cp "$here/icons/karyostation-256.png" "$icons/karyostation.png"
cat >"$apps/karyostation.desktop" <<DESKTOP
[Desktop Entry]
Type=Application
Name=KaryoStation
GenericName=Karyotyping Workstation
Comment=Review metaphase spreads, karyograms and ISCN karyotypes
Exec="$here/karyostation"
Icon=karyostation
Terminal=false
Categories=Science;Biology;MedicalSoftware;
StartupNotify=true
DESKTOP
echo "added $apps/karyostation.desktop"
