#!/usr/bin/env bash
# guest/build.sh: build (or reuse) the virtual machine of the guest test tier, as root.
#
#   bash scripts/guest/build.sh            # prints "guest: ready in DIR" at the end
#
# The guest is a Debian bookworm host as users run it: Debian's 6.1 kernel, OpenZFS 2.3
# kernel modules (built here from bookworm-backports' zfs-dkms), systemd as PID 1 owning a
# pure cgroup v2 tree, zfsutils-linux 2.3 and what the integration suite needs at run time.
# scripts/guest/run.sh boots it under QEMU's emulator (TCG) and runs the suite in it.
#
# Output, in $IOCELL_GUEST_DIR (default build-guest/ in the repository, ignored by git):
#   vmlinuz          the guest kernel
#   initrd.img       a tiny initramfs: loads virtio/ext4, mounts /dev/vda, switch_root
#   root.img         ext4 image of the root file system (booted read-only-snapshot by
#                    run.sh, so it never changes once built)
#   guest.env        KVER, versions and the image's key, for run.sh
# Work areas kept for the next build: kernel/, zfs/, rootfs/, debs/.
#
# Every stage is keyed by a hash of its own recipe (the function's text) and of the
# package versions it uses (and of the keys of the stages it builds on); a stage whose key
# is unchanged is not rebuilt. So a second run costs a few apt-cache queries.
#
# Host side: adds an apt source for bookworm-backports (main contrib) if none exists
# (OpenZFS 2.3 is there), installs qemu-system-x86, debootstrap, the guest kernel's
# headers and the module build tools (apt, non-interactive, nothing started).
#
# Env: IOCELL_GUEST_DIR (output dir), IOCELL_GUEST_KVER (e.g. 6.1.0-57-amd64; default:
# what bookworm's linux-image-amd64 depends on), IOCELL_GUEST_FORCE=1 (rebuild all).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${IOCELL_GUEST_DIR:-$repo/build-guest}
self=$here/build.sh

step() { printf '\n--- guest build: %s ---\n' "$*" >&2; }
log() { echo "guest build: $*" >&2; }
die() { echo "guest build: error: $*" >&2; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }

[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, apt-get)"
command -v apt-get >/dev/null || die "apt-get not found: the guest tier is built on Debian 12"

export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
APT=(apt-get -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

mkdir -p "$out"
out=$(cd "$out" && pwd)
t_all=$(now)

# Temp dirs and mounts made by this run are undone on any exit.
cleanup_dirs=()
cleanup_mounts=()
cleanup() {
    local i
    for ((i = ${#cleanup_mounts[@]} - 1; i >= 0; i--)); do
        umount -l "${cleanup_mounts[i]}" 2>/dev/null || true
    done
    for d in "${cleanup_dirs[@]}"; do rm -rf "$d"; done
    [ -z "${policy_made:-}" ] || rm -f /usr/sbin/policy-rc.d
    if [ -n "${zfs_pid:-}" ] && kill -0 "$zfs_pid" 2>/dev/null; then
        kill -- "-$zfs_pid" 2>/dev/null || true # the module build's process group
    fi
}
trap cleanup EXIT

# ------------------------------------------------------------------------------------------
# host: apt sources and packages

# Packages (with versions) of the host's apt sources: "URI SUITE" of the entry for SUITE.
apt_repo_uri() { # SUITE COMPONENT -> URI of the first index target, or nothing
    apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' \
        | awk -v s="$1" -v c="$2" '$2 == s && $3 == c { print $1; exit }'
}

ensure_backports_source() {
    if [ -n "$(apt_repo_uri bookworm-backports contrib)" ]; then
        return
    fi
    local mirror
    mirror=$(apt_repo_uri bookworm main)
    [ -n "$mirror" ] || die "no apt source for 'bookworm main' on this host: the guest tier needs Debian 12's mirror"
    local f=/etc/apt/sources.list.d/iocell-guest-backports.sources
    log "adding $f ($mirror bookworm-backports main contrib: OpenZFS 2.3 for the guest)"
    cat > "$f" <<EOF
# Added by iocell's scripts/guest/build.sh: OpenZFS 2.3 (zfs-dkms, zfsutils-linux) for the
# guest test tier. Backports are never installed on this host unless asked for by name.
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    "${APT[@]}" update || die "apt-get update failed after adding $f"
    [ -n "$(apt_repo_uri bookworm-backports contrib)" ] || die "bookworm-backports contrib is still unknown to apt after adding $f"
}

# Newest version apt knows for PACKAGE, from any source (bookworm-backports included).
pkg_version() {
    apt-cache madison "$1" | awk -v p="$1" '$1 == p { print $3 }' | sort -V | tail -n 1
}

install_host_packages() { # PACKAGE...: install those not installed yet
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "installing on the host: ${missing[*]}"
    if [ ! -e /usr/sbin/policy-rc.d ]; then # maintainer scripts must start no daemon here
        printf '#!/bin/sh\n# temporary, iocell scripts/guest/build.sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        policy_made=1
    fi
    "${APT[@]}" install --no-install-recommends "${missing[@]}" \
        || { "${APT[@]}" update && "${APT[@]}" install --no-install-recommends "${missing[@]}"; } \
        || die "apt-get install ${missing[*]} failed"
    if [ -n "${policy_made:-}" ]; then rm -f /usr/sbin/policy-rc.d; policy_made=; fi
}

step "host packages and versions"
t=$(now)
# Package lists: refresh when missing or older than a day (as scripts/deps.sh does).
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -1440 -print -quit 2>/dev/null)" ]; then
    "${APT[@]}" update || die "apt-get update failed"
fi
ensure_backports_source

if [ -n "${IOCELL_GUEST_KVER:-}" ]; then
    KVER=$IOCELL_GUEST_KVER
else
    # The kernel bookworm (with its security updates) offers now: linux-image-amd64's
    # dependency, whose headers must exist too.
    kmeta=$(apt-cache madison linux-image-amd64 | awk '$1 == "linux-image-amd64" && $0 !~ /backports/ { print $3 }' | sort -V | tail -n 1)
    [ -n "$kmeta" ] || die "apt knows no bookworm linux-image-amd64 (apt-get update?)"
    KVER=$(apt-cache depends "linux-image-amd64=$kmeta" | sed -n 's/^ *Depends: linux-image-\(6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -n 1)
    [ -n "$KVER" ] || die "cannot tell which linux-image-6.1.0-NN-amd64 linux-image-amd64 $kmeta depends on"
fi
[[ $KVER =~ ^6\.1\.0-[0-9]+-amd64$ ]] || die "unexpected kernel version '$KVER' (want 6.1.0-NN-amd64)"
kcommon=${KVER%-amd64}-common
KPKG_VERSION=$(pkg_version "linux-image-$KVER")
[ -n "$KPKG_VERSION" ] || die "apt offers no linux-image-$KVER"
ZFS_VERSION=$(pkg_version zfs-dkms)
ZFSUTILS_VERSION=$(pkg_version zfsutils-linux)
case $ZFS_VERSION in 2.3.*) ;; *) die "zfs-dkms '$ZFS_VERSION' is not OpenZFS 2.3 (bookworm-backports contrib)";; esac
[ "$ZFSUTILS_VERSION" = "$ZFS_VERSION" ] || die "zfsutils-linux $ZFSUTILS_VERSION differs from zfs-dkms $ZFS_VERSION"
log "kernel $KVER ($KPKG_VERSION), OpenZFS $ZFS_VERSION"

install_host_packages qemu-system-x86 debootstrap debian-archive-keyring busybox-static cpio \
    e2fsprogs kmod gcc make libc6-dev libelf-dev bc \
    "linux-headers-$KVER" "linux-headers-$kcommon"
[ -d "/usr/src/linux-headers-$KVER" ] || die "/usr/src/linux-headers-$KVER missing after installing linux-headers-$KVER"
log "host ready in $(elapsed "$t")"

# ------------------------------------------------------------------------------------------
# stage keys

# key NAME EXTRA...: hash of the stage function's text and the extra strings.
key() {
    local fn=$1; shift
    { declare -f "$fn"; printf '%s\n' "$@"; } | sha256sum | cut -c1-16
}
stage_done() { # NAME KEY: true if the stage was built with this key
    [ "${IOCELL_GUEST_FORCE:-0}" != 1 ] && [ -f "$out/$1.key" ] && [ "$(cat "$out/$1.key")" = "$2" ]
}
stage_mark() { echo "$2" > "$out/$1.key"; }

download() { # PACKAGE=VERSION: the .deb in $out/debs (downloaded once), printed
    local name=${1%%=*} ver=${1#*=} f
    mkdir -p "$out/debs"
    f=$(ls "$out/debs/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$f" ]; then
        (cd "$out/debs" && apt-get download -q "$1" >&2 2>/dev/null) \
            || (cd "$out/debs" && apt-get download "$1" >&2) || die "apt-get download $1 failed"
        f=$(ls "$out/debs/${name}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n 1 || true)
        [ -n "$f" ] || die "apt-get download $1 left no .deb in $out/debs"
    fi
    echo "$f"
}

# ------------------------------------------------------------------------------------------
# 1. the kernel: vmlinuz and its modules tree, from Debian's package

build_kernel() {
    local deb
    deb=$(download "linux-image-$KVER=$KPKG_VERSION")
    rm -rf "$out/kernel"
    mkdir -p "$out/kernel"
    dpkg-deb -x "$deb" "$out/kernel"
    [ -f "$out/kernel/boot/vmlinuz-$KVER" ] || die "no boot/vmlinuz-$KVER in $deb"
    [ -d "$out/kernel/lib/modules/$KVER/kernel" ] || die "no lib/modules/$KVER in $deb"
}
k_kernel=$(key build_kernel "$KVER" "$KPKG_VERSION")
if stage_done kernel "$k_kernel"; then
    log "kernel: cached ($KVER)"
else
    step "kernel $KVER"
    t=$(now); build_kernel; stage_mark kernel "$k_kernel"; log "kernel extracted in $(elapsed "$t")"
fi

# ------------------------------------------------------------------------------------------
# 2. OpenZFS modules (spl.ko, zfs.ko) built from zfs-dkms' source against the kernel's headers

build_zfs() {
    local deb src
    deb=$(download "zfs-dkms=$ZFS_VERSION")
    rm -rf "$out/zfs"
    mkdir -p "$out/zfs/pkg"
    dpkg-deb -x "$deb" "$out/zfs/pkg"
    src=$(ls -d "$out/zfs/pkg/usr/src/zfs-"* 2>/dev/null | head -n 1)
    [ -n "$src" ] && [ -x "$src/configure" ] || die "no usr/src/zfs-*/configure in $deb"
    (
        cd "$src"
        ./configure --with-config=kernel \
            --with-linux="/usr/src/linux-headers-$kcommon" \
            --with-linux-obj="/usr/src/linux-headers-$KVER" > "$out/zfs/configure.log" 2>&1 \
            || { tail -n 30 "$out/zfs/configure.log" >&2; die "OpenZFS configure failed (log: $out/zfs/configure.log)"; }
        make -j"$(nproc)" -C module > "$out/zfs/make.log" 2>&1 \
            || { tail -n 30 "$out/zfs/make.log" >&2; die "OpenZFS module build failed (log: $out/zfs/make.log)"; }
    )
    for m in spl zfs; do
        [ -f "$src/module/$m.ko" ] || die "the OpenZFS build made no module/$m.ko"
        cp "$src/module/$m.ko" "$out/zfs/$m.ko"
    done
    rm -rf "$out/zfs/pkg"
}
# The module build (CPU) runs in the background while debootstrap (network, disk) makes
# the root file system; in its own process group, so a failure here stops all of it.
k_zfs=$(key build_zfs "$k_kernel" "$ZFS_VERSION")
zfs_pid=
if stage_done zfs "$k_zfs"; then
    log "OpenZFS modules: cached ($ZFS_VERSION)"
else
    step "OpenZFS $ZFS_VERSION modules for $KVER (in the background; minutes)"
    set -m
    (
        t=$(now); build_zfs; stage_mark zfs "$k_zfs"; log "OpenZFS modules built in $(elapsed "$t")"
    ) &
    zfs_pid=$!
    set +m
fi

# ------------------------------------------------------------------------------------------
# 3. the root file system: debootstrap, systemd, zfsutils-linux 2.3, the suite's run-time needs

# What the guest has besides minbase. systemd owns PID 1 and the cgroup v2 tree; the rest
# is what tests/integration and the iocell binaries (build/, build-asan/) use at run time.
GUEST_PACKAGES=(
    systemd systemd-sysv dbus udev kmod
    python3 python3-pytest iproute2 util-linux procps busybox-static xz-utils
    libarchive13 libcap2 libseccomp2 libmnl0 libnftables1 nftables libssl3 libcurl4 libuuid1
    libasan8 libubsan1
)

build_rootfs() {
    local mirror root=$out/rootfs
    mirror=$(apt_repo_uri bookworm main)
    [ -n "$mirror" ] || die "no apt source for 'bookworm main'"
    rm -rf "$root"
    mkdir -p "$root"
    local inc
    inc=$(IFS=,; echo "${GUEST_PACKAGES[*]}")
    local t1
    t1=$(now)
    debootstrap --variant=minbase --include="$inc" bookworm "$root" "$mirror" > "$out/debootstrap.log" 2>&1 \
        || { tail -n 30 "$out/debootstrap.log" >&2; [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2; die "debootstrap bookworm from $mirror failed (log: $out/debootstrap.log)"; }

    # apt inside: bookworm + backports (contrib for OpenZFS); zfsutils-linux from backports.
    log "debootstrap done in $(elapsed "$t1")"
    rm -f "$root/etc/apt/sources.list"
    cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-backports
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
    chmod 0755 "$root/usr/sbin/policy-rc.d"
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    for fs in proc sys dev; do
        mount --rbind "/$fs" "$root/$fs"
        mount --make-rslave "$root/$fs"
        cleanup_mounts+=("$root/$fs")
    done
    chroot "$root" apt-get -y -q update > "$out/rootfs-apt.log" 2>&1 \
        && chroot "$root" apt-get -y -q --no-install-recommends -t bookworm-backports install \
            "zfsutils-linux=$ZFSUTILS_VERSION" >> "$out/rootfs-apt.log" 2>&1 \
        || { tail -n 30 "$out/rootfs-apt.log" >&2; die "installing zfsutils-linux $ZFSUTILS_VERSION in the guest root failed (log: $out/rootfs-apt.log)"; }
    chroot "$root" apt-get clean
    for fs in dev sys proc; do umount -R -l "$root/$fs"; done
    cleanup_mounts=()
    rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
    rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin

}
k_rootfs=$(key build_rootfs "$ZFSUTILS_VERSION" "${GUEST_PACKAGES[@]}")
if stage_done rootfs "$k_rootfs"; then
    log "root file system: cached"
else
    step "root file system (debootstrap bookworm + zfsutils-linux $ZFSUTILS_VERSION)"
    t=$(now); build_rootfs; stage_mark rootfs "$k_rootfs"; log "root file system built in $(elapsed "$t")"
fi

if [ -n "$zfs_pid" ]; then
    log "waiting for the OpenZFS module build"
    zrc=0
    wait "$zfs_pid" || zrc=$?
    zfs_pid=
    [ "$zrc" -eq 0 ] || die "the OpenZFS module build failed (see above)"
fi

# ------------------------------------------------------------------------------------------
# 4. the images: root.img (ext4 made from the tree, never mounted here) and initrd.img

# Modules the initramfs loads to reach the root disk (with their dependencies, in order).
INITRD_MODULES=(virtio_pci virtio_blk ext4)

configure_root() {
    local root=$out/rootfs
    # A host, booted by systemd, that runs the test job and powers off.
    echo iocell-guest > "$root/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tiocell-guest\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
    # /tmp on tmpfs as on Debian 13 and most systemd hosts (the suite's pool files live
    # there: no emulated disk I/O for them)
    printf '/dev/vda\t/\text4\trw,noatime,errors=remount-ro\t0\t1\ntmpfs\t/tmp\ttmpfs\tmode=1777,strictatime,nosuid,nodev,size=60%%\t0\t0\n' > "$root/etc/fstab"
    # A resolver configuration as every host has one (the suite compares a jail's copy
    # with it); the guest has no network device, so nothing is ever sent there.
    printf '# iocell guest test tier: no network device here\nnameserver 192.0.2.53\n' > "$root/etc/resolv.conf"
    : > "$root/etc/machine-id"   # systemd makes a fresh one at every boot (root is a snapshot)
    chroot "$root" passwd -d root > /dev/null
    # Boot-time trimming: nothing here needs a login prompt, timers or network waits, and
    # no pool is imported at boot (the root is a throw-away snapshot; the suite makes its
    # own pool), and zfs is loaded by modules-load.d: these three units pulled in
    # systemd-udev-settle, 15-25 s of the boot under emulation.
    local unit manifest=$root/etc/systemd/system/.iocell-guest-masked
    if [ -f "$manifest" ]; then # masks of an earlier build of this tree
        while read -r unit; do rm -f "$root/etc/systemd/system/$unit"; done < "$manifest"
    fi
    : > "$manifest"
    for unit in getty@.service serial-getty@.service console-getty.service \
        apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
        e2scrub_reap.service fstrim.timer systemd-tmpfiles-clean.timer \
        systemd-networkd-wait-online.service systemd-timesyncd.service \
        systemd-firstboot.service systemd-hwdb-update.service ldconfig.service \
        zfs-import-scan.service zfs-import-cache.service zfs-load-module.service; do
        ln -sf /dev/null "$root/etc/systemd/system/$unit"
        echo "$unit" >> "$manifest"
    done
    install -m 0755 "$here/guest-job-start.sh" "$root/usr/local/sbin/iocell-guest-job"
    install -m 0644 "$here/iocell-guest-job.service" "$root/etc/systemd/system/iocell-guest-job.service"
    mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
    ln -sf /etc/systemd/system/iocell-guest-job.service "$root/etc/systemd/system/multi-user.target.wants/iocell-guest-job.service"
    # The 9p shares are loaded on demand; have the modules ready at boot.
    printf '9p\n9pnet_virtio\nzfs\n' > "$root/etc/modules-load.d/iocell-guest.conf"
}

build_image() {
    local root=$out/rootfs
    local mods=$root/lib/modules/$KVER
    configure_root
    # kernel modules + OpenZFS in the guest's tree
    rm -rf "$mods"
    mkdir -p "$root/lib/modules"
    cp -a "$out/kernel/lib/modules/$KVER" "$mods"
    mkdir -p "$mods/extra"
    cp "$out/zfs/spl.ko" "$out/zfs/zfs.ko" "$mods/extra/"
    depmod -b "$root" "$KVER" || die "depmod for $KVER in $root failed"
    modinfo -b "$root" -k "$KVER" zfs > /dev/null || die "depmod does not find zfs.ko for $KVER"

    # initramfs: busybox, the modules for virtio and ext4, an /init that switches to /dev/vda
    local ird
    ird=$(mktemp -d "$out/initrd.XXXXXX")
    cleanup_dirs+=("$ird")
    mkdir -p "$ird/bin" "$ird/dev" "$ird/proc" "$ird/sys" "$ird/newroot" "$ird/lib/modules"
    cp /bin/busybox "$ird/bin/busybox"
    ldd "$ird/bin/busybox" > /dev/null 2>&1 && die "/bin/busybox is dynamically linked (need busybox-static)"
    local line m list=()
    while read -r line; do
        case $line in
            insmod\ *) m=${line#insmod }; m=${m%% *}
                [ -e "$ird/lib/modules/$(basename "$m")" ] && continue
                cp "$m" "$ird/lib/modules/"; list+=("$(basename "$m")");;
            builtin\ *) ;;
            *) die "unexpected modprobe output: $line";;
        esac
    done < <(modprobe -d "$root" -S "$KVER" -a --show-depends "${INITRD_MODULES[@]}")
    printf '%s\n' "${list[@]}" > "$ird/lib/modules/order"
    install -m 0755 "$here/initrd-init.sh" "$ird/init"
    (cd "$ird" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0) | gzip -1 > "$out/initrd.img.new"
    mv "$out/initrd.img.new" "$out/initrd.img"
    cp "$out/kernel/boot/vmlinuz-$KVER" "$out/vmlinuz"

    # root.img: the tree plus room for the suite's pools, releases and logs (sparse)
    local used size
    used=$(du -sm "$root" | cut -f1)
    size=$((used + 6144))
    rm -f "$out/root.img.new"
    mke2fs -q -t ext4 -L iocell-guest -d "$root" -E root_owner=0:0 -F "$out/root.img.new" "${size}M" \
        || die "mke2fs -d $root failed"
    mv "$out/root.img.new" "$out/root.img"
    printf 'KVER=%s\nKPKG_VERSION=%s\nZFS_VERSION=%s\nIMAGE_KEY=%s\n' \
        "$KVER" "$KPKG_VERSION" "$ZFS_VERSION" "$1" > "$out/guest.env"
}
k_image=$(key build_image "$(declare -f configure_root)" "$k_kernel" "$k_zfs" "$k_rootfs" \
    "${INITRD_MODULES[@]}" "$(sha256sum < /bin/busybox)" \
    "$(cd "$here" && sha256sum initrd-init.sh guest-job-start.sh iocell-guest-job.service)")
if stage_done image "$k_image" && [ -f "$out/root.img" ] && [ -f "$out/initrd.img" ]; then
    log "images: cached"
else
    step "images (root.img, initrd.img)"
    t=$(now); rm -f "$out/image.key"; build_image "$k_image"; stage_mark image "$k_image"; log "images packed in $(elapsed "$t")"
fi

log "ready in $out (kernel $KVER, OpenZFS $ZFS_VERSION; $(elapsed "$t_all"))"
