#!/usr/bin/env bash
# lab/image/lab-rootfs.sh: LAB-ONLY changes to the rootfs dir ($1), applied
# after overlay/ and board/post-build.sh. Owns: copying lab/image/files,
# disabling keepalived (installed for baselines only) and Debian's BIRD unit,
# masking timers that only cost CPU under TCG.
set -euo pipefail
ROOT=${1:?usage: lab-rootfs.sh ROOTFS_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)

cp -a "$HERE/files/etc" "$ROOT/"

# keepalived: present for baselines, never started by default. Debian's
# bird.service neither: the appliance's BIRD is vigil-bird.service.
rm -f "$ROOT"/etc/systemd/system/*.wants/keepalived.service
rm -f "$ROOT"/etc/systemd/system/*.wants/bird.service
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
         fstrim.timer dpkg-db-backup.timer \
         proc-sys-fs-binfmt_misc.automount systemd-binfmt.service; do
  ln -sfn /dev/null "$ROOT/etc/systemd/system/$u"
done

# The initramfs mounts / read-write; nothing else to mount.
echo "# lab: / is mounted rw by the initramfs (lab/image/initramfs-init)" > "$ROOT/etc/fstab"
