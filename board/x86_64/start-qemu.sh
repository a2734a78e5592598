#!/usr/bin/env bash
# board/x86_64/start-qemu.sh: boots the built x86_64 image (disk.img from
# `make image`) in qemu as the box would boot: UEFI firmware (OVMF), grub,
# two NICs, an i6300esb watchdog that resets the machine, and the serial
# console on this terminal (Ctrl-A X quits, Ctrl-A C is qemu's monitor).
#
# No qemu user-mode networking, nothing bridged: by default each NIC sits
# alone on its own qemu hub, so frames go nowhere (qemu warns that the hubs
# are "not connected to host network": that is the point). With NET=tap
# the NICs use taps you created and wired yourself (TAP0, TAP1).
#
# Usage: start-qemu.sh [IMAGES_DIR]   (default: target/image/x86_64/images)
# Environment: NET=none|tap, TAP0/TAP1 (default vigil0/vigil1), MEM (MiB,
#   default 512), SNAPSHOT=1 (discard disk writes, the config store's
#   included), OVMF_CODE/OVMF_VARS (firmware files; Debian package ovmf).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
IMAGES=${1:-$HERE/../../target/image/x86_64/images}
disk=$IMAGES/disk.img
[ -f "$disk" ] || { echo "start-qemu: no $disk (make image BUILDROOT=...)" >&2; exit 1; }

first() { for f in "$@"; do [ -f "$f" ] && { echo "$f"; return 0; }; done; return 1; }
code=${OVMF_CODE:-$(first /usr/share/OVMF/OVMF_CODE_4M.fd /usr/share/OVMF/OVMF_CODE.fd)} ||
  { echo "start-qemu: no OVMF firmware (apt-get install ovmf, or set OVMF_CODE)" >&2; exit 1; }
vars_template=${OVMF_VARS:-$(first /usr/share/OVMF/OVMF_VARS_4M.fd /usr/share/OVMF/OVMF_VARS.fd)} ||
  { echo "start-qemu: no OVMF variable store (set OVMF_VARS)" >&2; exit 1; }
# The firmware's variables are writable: each image keeps its own copy.
vars=$IMAGES/ovmf-vars.fd
[ -f "$vars" ] || cp "$vars_template" "$vars"

case ${NET:-none} in
  none) netdevs=(-netdev "hubport,id=n0,hubid=0" -netdev "hubport,id=n1,hubid=1") ;;
  tap)  netdevs=(-netdev "tap,id=n0,ifname=${TAP0:-vigil0},script=no,downscript=no"
                 -netdev "tap,id=n1,ifname=${TAP1:-vigil1},script=no,downscript=no") ;;
  *)    echo "start-qemu: NET must be none or tap" >&2; exit 2 ;;
esac

exec qemu-system-x86_64 \
  -machine q35,accel=kvm:tcg -m "${MEM:-512}" -smp 2 \
  -drive if=pflash,format=raw,readonly=on,file="$code" \
  -drive if=pflash,format=raw,file="$vars" \
  -drive "file=$disk,format=raw,if=virtio${SNAPSHOT:+,snapshot=on}" \
  "${netdevs[@]}" \
  -device virtio-net-pci,netdev=n0,mac=52:54:00:76:67:01 \
  -device virtio-net-pci,netdev=n1,mac=52:54:00:76:67:02 \
  -device i6300esb -action watchdog=reset \
  -display none -serial mon:stdio
