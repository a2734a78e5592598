#!/usr/bin/env bash
# lab/image/lab-rootfs.sh: LAB-ONLY changes to the rootfs dir ($1), applied
# after overlay/ and board/post-build.sh. Owns: copying lab/image/files,
# disabling keepalived (installed for baselines only) and Debian's BIRD unit,
# masking timers and boot-time units that only cost CPU under TCG.
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

# Debian's boot-time units that the appliance's Buildroot image does not
# have and the lab does not use. A VM has one TCG vCPU, so each costs the
# boot its CPU time (systemd-analyze blame, host busy with other tests:
# e2scrub_reap 14.7 s, getty-static 13.8 s on getty.target's critical
# chain, Debian's ipvsadm rules loader 10.4 s, modprobe@ and the
# pseudo-filesystem mounts 2 to 2.7 s each). getty@tty1: the VMs have no
# screen. Side by side with the same qemu, a cold boot reached the login
# prompt in 32.7 to 34.9 s instead of 37.7 s.
for u in e2scrub_reap.service getty-static.service ipvsadm.service \
         getty@tty1.service modprobe@dm_mod.service modprobe@loop.service \
         modprobe@fuse.service sys-fs-fuse-connections.mount \
         dev-hugepages.mount dev-mqueue.mount sys-kernel-debug.mount \
         sys-kernel-tracing.mount; do
  ln -sfn /dev/null "$ROOT/etc/systemd/system/$u"
done

# The initramfs mounts / read-write; nothing else to mount.
echo "# lab: / is mounted rw by the initramfs (lab/image/initramfs-init)" > "$ROOT/etc/fstab"
