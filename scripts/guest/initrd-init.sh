#!/bin/busybox sh
# /init of the guest's initramfs (made by scripts/guest/build.sh): load the modules that
# reach the root disk (virtio, ext4; listed in order in /lib/modules/order), mount root=
# (default /dev/vda) read-write and switch_root into its /sbin/init (systemd).
# The real root must be a real file system, not the initramfs: iocell's jails pivot_root,
# which fails with EINVAL while / is the initial rootfs.
bb=/bin/busybox

fail() {
    echo "initrd: error: $*" >&2
    echo "initrd: powering off" >&2
    $bb sync
    $bb poweroff -f
    exit 1
}

$bb mkdir -p /proc /sys /dev /newroot
$bb mount -t proc proc /proc || fail "cannot mount /proc"
$bb mount -t devtmpfs devtmpfs /dev || fail "cannot mount devtmpfs on /dev"

root=/dev/vda
rootfstype=ext4
for arg in $($bb cat /proc/cmdline); do
    case $arg in
        root=/dev/*) root=${arg#root=} ;;
        rootfstype=*) rootfstype=${arg#rootfstype=} ;;
    esac
done

# A module may be built in or not apply to this CPU (crc32c-intel): only the mount decides.
for m in $($bb cat /lib/modules/order); do
    $bb insmod "/lib/modules/$m" 2>/dev/null || echo "initrd: note: insmod $m failed" >&2
done

i=0
while [ ! -b "$root" ]; do
    i=$((i + 1))
    [ $i -le 300 ] || fail "$root did not appear within 30 s (virtio_blk loaded: $($bb grep -c '^virtio_blk ' /proc/modules))"
    $bb usleep 100000
done

$bb mount -t "$rootfstype" -o rw "$root" /newroot || fail "cannot mount $root ($rootfstype) on /newroot"
[ -x /newroot/sbin/init ] || [ -L /newroot/sbin/init ] || fail "$root has no /sbin/init"
$bb mount --move /dev /newroot/dev || $bb umount /dev
$bb umount /proc
exec $bb switch_root /newroot /sbin/init "$@"
