#!/usr/bin/env bash
# board/post-build.sh: the board's last word on the rootfs. Run by the image
# build (Buildroot's BR2_ROOTFS_POST_BUILD_SCRIPT convention) with the rootfs
# directory as $1, after overlay/ has been copied in. Owns: enabling vigil,
# the boot-time module list (from board/modules.list).
set -euo pipefail
ROOT=${1:?usage: post-build.sh ROOTFS_DIR}
BOARD=$(cd "$(dirname "$0")" && pwd)

# vigil starts with the box.
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -sfn /etc/systemd/system/vigil.service \
  "$ROOT/etc/systemd/system/multi-user.target.wants/vigil.service"
# BIRD once vigil writes its config (a bgp block); never otherwise.
ln -sfn /etc/systemd/system/vigil-bird.path \
  "$ROOT/etc/systemd/system/multi-user.target.wants/vigil-bird.path"

# Modules marked `boot` in modules.list load at every boot.
mkdir -p "$ROOT/etc/modules-load.d"
{
  echo "# Written by board/post-build.sh from board/modules.list"
  awk '!/^[[:space:]]*(#|$)/ && $2 == "boot" { print $1 }' "$BOARD/modules.list"
} > "$ROOT/etc/modules-load.d/vigil.conf"

echo "appliance" > "$ROOT/etc/hostname"
