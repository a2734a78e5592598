#!/usr/bin/env bash
# lab/image/build.sh: builds the lab's appliance image into target/lab/images/
# <key>/ and points target/lab/image at it; <key> hashes every input (kernel
# pin, package list, overlay/, board/, lab/image/, the vigil binary), so an
# unchanged tree costs seconds. Owns: kernel download + module trimming,
# the mmdebstrap rootfs (cached by package list), the initramfs, the ext4
# root image, and the disk the VMs boot: the image's own GPT layout from
# board/x86_64/genimage.cfg (Debian's genimage), with grub (Debian's EFI
# build) and board/x86_64/grub.cfg on its EFI partition, booted by OVMF.
# Usage: build.sh [VIGIL_BINARY]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
HERE=lab/image
VIGIL=${1:-target/x86_64-unknown-linux-gnu/release/vigil}
OUT=target/lab
source "$HERE/kernel.env"
KERNEL_PKG=${KERNEL%%=*} KERNEL_VER=${KERNEL#*=}
t0=$(date +%s.%N)
log() { printf 'lab-image: %s\n' "$*" >&2; }

# Debian drops old kernel ABIs from the archive at point releases: when the
# pin is neither cached nor downloadable (even after `apt-get update`), take
# the newest 6.1 amd64 kernel the archive has, and say so loudly.
available() { apt-cache show "$1=$2" >/dev/null 2>&1; }
if [ ! -f "$OUT/cache/${KERNEL_PKG}_${KERNEL_VER}_amd64.deb" ] && ! available "$KERNEL_PKG" "$KERNEL_VER"; then
  apt-get update -q >/dev/null 2>&1 || true
  if ! available "$KERNEL_PKG" "$KERNEL_VER"; then
    pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | cut -d' ' -f1 | sort -V | tail -1)
    ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
    [ -n "$pkg" ] && [ -n "$ver" ] || { log "pinned $KERNEL is gone and no 6.1 kernel is available"; exit 1; }
    log "WARNING: pinned $KERNEL is no longer in the archive; using $pkg=$ver (update lab/image/kernel.env)"
    KERNEL=$pkg=$ver KERNEL_PKG=$pkg KERNEL_VER=$ver
  fi
fi
[ -x "$VIGIL" ] || { log "no vigil binary at $VIGIL (run: make build)"; exit 1; }

PKGS=$(grep -v '^\s*#' "$HERE/packages.list" | xargs | tr ' ' ,)
key=$( {
  echo "$KERNEL $PKGS"
  find overlay board "$HERE" -type f -print0 | sort -z |
    xargs -0 stat -c '%n %a' ; find overlay board "$HERE" -type f -print0 |
    sort -z | xargs -0 sha256sum
  sha256sum < "$VIGIL"
} | sha256sum | cut -c1-16)
IMG=$OUT/images/$key
if [ -f "$IMG/done" ]; then
  ln -sfn "images/$key" "$OUT/image"
  log "cached image $key (up to date)"
  exit 0
fi
mkdir -p "$OUT/cache" "$OUT/images"
WORK=$(mktemp -d "$REPO/$OUT/build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# 1. Kernel: the pinned Debian package, unpacked, modules.dep rebuilt.
deb=$OUT/cache/${KERNEL_PKG}_${KERNEL_VER}_amd64.deb
if [ ! -f "$deb" ]; then
  log "downloading $KERNEL"
  (cd "$OUT/cache" && apt-get download -q "$KERNEL" 2>&1) | { grep -v unsandboxed >&2 || true; }
  [ -f "$deb" ] || { log "could not download $KERNEL (apt-get update? a new pin?)"; exit 1; }
fi
dpkg -x "$deb" "$WORK/k"
KVER=${KERNEL_PKG#linux-image-}
depmod -b "$WORK/k" "$KVER"

# Every module in board/modules.list with its dependencies, in load order.
resolve() {  # module names on stdin -> .ko paths (relative), deps first, unique
  while read -r m; do
    modprobe -d "$WORK/k" -S "$KVER" --show-depends "$m" \
      || { log "module $m not in $KERNEL_PKG"; exit 1; }
  done | awk '$1 == "insmod" { print $2 }' | sed "s|^$WORK/k/lib/modules/$KVER/||" |
    awk '!seen[$0]++'
}
awk '!/^[[:space:]]*(#|$)/ { print $1 }' board/modules.list | resolve > "$WORK/mods"
log "$(wc -l < "$WORK/mods") modules from board/modules.list (with deps)"

# 2. Rootfs: mmdebstrap once per package list, then overlay/, post-build, lab.
tarball=$OUT/cache/rootfs-$(echo "$PKGS" | sha256sum | cut -c1-12).tar
# The host's own Debian sources (deb822 or one-line), else mmdebstrap's default.
MIRRORS=()
for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
  [ -s "$f" ] && { MIRRORS=("$f"); break; }
done
if [ ! -f "$tarball" ]; then
  log "mmdebstrap bookworm minbase + $PKGS (a few minutes, once)"
  rm -rf "$tarball.part.tar"
  mmdebstrap --quiet --variant=minbase --format=tar --include="$PKGS" \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "$tarball.part.tar" "${MIRRORS[@]}"
  mv "$tarball.part.tar" "$tarball"
fi
R=$WORK/rootfs
mkdir "$R"
tar -C "$R" -xpf "$tarball"
M=$R/lib/modules/$KVER
while read -r ko; do
  install -D -m 0644 "$WORK/k/lib/modules/$KVER/$ko" "$M/$ko"
done < "$WORK/mods"
cp "$WORK/k/lib/modules/$KVER"/modules.{order,builtin,builtin.modinfo} "$M/"
depmod -b "$R" "$KVER"
install -m 0755 "$VIGIL" "$R/usr/bin/vigil"
cp -a overlay/. "$R/"
board/post-build.sh "$R"
"$HERE/lab-rootfs.sh" "$R"      # LAB-ONLY additions (see lab/image/files/)

# 3. Initramfs: busybox + what mounting the root disk needs.
I=$WORK/initramfs
mkdir -p "$I"/{bin,proc,sys,dev,newroot,lib/modules}
cp /bin/busybox "$I/bin/busybox"
printf '%s\n' virtio_pci virtio_blk ext4 | resolve > "$I/modules"
while read -r ko; do cp "$WORK/k/lib/modules/$KVER/$ko" "$I/lib/modules/${ko##*/}"; done < "$I/modules"
sed -i 's|.*/||' "$I/modules"
install -m 0755 "$HERE/initramfs-init" "$I/init"

# 4. The disk: the box's layout, made by genimage from the board's own
#    genimage.cfg and booted through OVMF and grub. What is lab-only: Debian's
#    kernel as bzImage with the initramfs beside grub (Debian's kernel has
#    virtio and ext4 as modules), a 1 GiB root partition for Debian's
#    userland, and the kernel command line's lab edits (lab_grub_cfg).
G=$WORK/genimage
EFI=$G/in/efi-part/EFI/BOOT
mkdir -p "$EFI" "$G/root" "$G/tmp" "$G/out" "$IMG.tmp"
(cd "$I" && find . | cpio -o -H newc --quiet | gzip -1) > "$EFI/initramfs.gz"
cp "$WORK/k/boot/vmlinuz-$KVER" "$G/in/bzImage"
# grub's EFI image with its prefix on the EFI partition, where grub.cfg is
# (the removable-media path every UEFI firmware boots).
grub-mkimage -O x86_64-efi -p /EFI/BOOT -o "$EFI/bootx64.efi" \
  part_gpt fat ext2 normal linux serial terminal configfile echo test search gzio
lab_grub_cfg() {  # board grub.cfg -> the lab's: no menu wait, the initramfs,
  # a read-write root (the tests write to it), quiet and fast under TCG.
  sed -e 's/^set timeout=.*/set timeout=0/' \
      -e '/^[[:space:]]*linux /{s/ ro / rw /;s/$/ quiet loglevel=3 mitigations=off/}' \
      -e '/^[[:space:]]*linux /a\	initrd /EFI/BOOT/initramfs.gz' "$1"
}
lab_grub_cfg board/x86_64/grub.cfg > "$EFI/grub.cfg"
grep -q 'initrd /EFI/BOOT/initramfs.gz' "$EFI/grub.cfg" || { log "grub.cfg: no linux line to boot"; exit 1; }
dd if=/dev/zero of="$G/in/config-blank.img" bs=1M count=4 status=none
mkfs.ext4 -q -F -L vigil-root -d "$R" "$G/in/rootfs.ext4" 1G
sed 's/^\([[:space:]]*size = \)256M$/\11G/' board/x86_64/genimage.cfg > "$G/genimage.cfg"
grep -q 'size = 1G' "$G/genimage.cfg" || { log "genimage.cfg: no 256M rootfs size to grow"; exit 1; }
genimage --config "$G/genimage.cfg" --rootpath "$G/root" --tmppath "$G/tmp" \
  --inputpath "$G/in" --outputpath "$G/out" >"$WORK/genimage.log" 2>&1 ||
  { cat "$WORK/genimage.log" >&2; log "genimage failed"; exit 1; }
mv "$G/out/disk.img" "$IMG.tmp/disk.img"
chmod a-w "$IMG.tmp/disk.img"         # the shared base: VMs write qcow2 overlays
echo "$KVER" > "$IMG.tmp/kernel-version"
rm -rf "$IMG"; mv "$IMG.tmp" "$IMG"; touch "$IMG/done"
ln -sfn "images/$key" "$OUT/image"
# Keep the newest three images.
ls -1dt "$OUT"/images/*/ | tail -n +4 | xargs -r rm -rf
log "built image $key in $(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN{printf \"%.1f\", b-a}") s"
