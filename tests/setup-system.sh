#!/usr/bin/env bash
# System packages the window tests need on a fresh Debian machine: Mesa's
# lavapipe (headless Vulkan for wgpu and the kittest snapshots), Xvfb for the
# real window, ImageMagick to check its screenshot. Installed with apt when
# missing (as root or with passwordless sudo); otherwise says what to run.
set -euo pipefail
need=()
command -v xvfb-run >/dev/null || need+=(xvfb)
command -v identify >/dev/null || need+=(imagemagick)
[ -e /usr/share/vulkan/icd.d/lvp_icd.x86_64.json ] || need+=(mesa-vulkan-drivers)
ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || need+=(libvulkan1)
[ ${#need[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo -n"
echo "installing ${need[*]}" >&2
if ! { $sudo apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "cannot install ${need[*]}: run 'sudo apt-get install ${need[*]}'" >&2
    exit 1
fi
