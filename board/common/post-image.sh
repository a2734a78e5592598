#!/usr/bin/env bash
# board/common/post-image.sh: Buildroot's post-image step for every vigil
# board (BR2_ROOTFS_POST_IMAGE_SCRIPT). Buildroot runs it from its own top
# directory with the images directory as $1 and the board directory
# (BR2_ROOTFS_POST_SCRIPT_ARGS) as $2. Owns: grub's menu on the EFI
# partition (boards with a grub.cfg), the blank config partition, the disk
# image from the board's genimage.cfg, its block map, a size summary.
set -euo pipefail
IMAGES=${1:?usage: post-image.sh IMAGES_DIR BOARD_DIR}
BOARD=${2:?usage: post-image.sh IMAGES_DIR BOARD_DIR}
: "${BUILD_DIR:?run by Buildroot}" "${TARGET_DIR:?run by Buildroot}"

if [ -f "$BOARD/grub.cfg" ]; then
  install -D -m 0644 "$BOARD/grub.cfg" "$IMAGES/efi-part/EFI/BOOT/grub.cfg"
fi

# Zeros really written (not a sparse file), so that bmaptool writes them
# too: a freshly flashed box always starts from an erased store.
dd if=/dev/zero of="$IMAGES/config-blank.img" bs=1M count=4 status=none

support/scripts/genimage.sh -c "$BOARD/genimage.cfg"

# The last image of genimage.cfg is the whole disk.
disk=$IMAGES/$(sed -n 's/^image \([^ ]*\) {$/\1/p' "$BOARD/genimage.cfg" | tail -n 1)
if [ -n "${HOST_DIR:-}" ] && [ -x "$HOST_DIR/bin/bmaptool" ]; then
  "$HOST_DIR/bin/bmaptool" create -o "$disk.bmap" "$disk"
fi

kib() { du -k --apparent-size "$1" | cut -f1; }
kernel=$(find "$IMAGES" -maxdepth 1 \( -name bzImage -o -name Image \) | head -n 1)
echo "vigil image: $disk ($(kib "$disk") KiB, $(du -k "$disk" | cut -f1) KiB written)"
echo "  kernel ${kernel##*/}: $(kib "$kernel") KiB"
echo "  root filesystem contents: $(du -sk "$TARGET_DIR" | cut -f1) KiB"
if [ -f "$IMAGES/efi-part/EFI/BOOT/bootx64.efi" ]; then
  echo "  grub (bootx64.efi): $(kib "$IMAGES/efi-part/EFI/BOOT/bootx64.efi") KiB"
fi
