#!/usr/bin/env bash
# integration.sh: run the integration tests (pytest tests/integration) against an already
# built iocell, as root. scripts/test.sh calls it on the host; the guest tier's job calls it
# inside the guest, so both tiers run the suite the same way.
#
#   bash scripts/integration.sh [PYTEST ARGS...]
#
# Binary: $IOCELL_BIN (default build-asan/iocell). The tests run in a private network
# namespace (only lo, up), whatever the ZFS: default jails (vnet=on) create bridge0 and veth
# pairs, and every test address must stay off the machine's own network. Slow tests
# (IOCELL_SLOW=1: debootstrap from the mirror) need the machine's network instead.
#
# With zfs-fuse (no kernel /dev/zfs) pytest also runs in a private mount namespace with tmpfs
# over the daemon's state dirs: the conftest then starts a daemon of its own that sees no
# other pool, so `iocell activate` (which clears the mark on every other pool) cannot
# disturb pools of this host. IOCELL_TEST_ISOLATE=0 uses the host's daemon instead.
# With kernel ZFS (/dev/zfs) the conftest uses the kernel's pools directly (scratch pool
# ioct<pid> on a sparse file; no daemon).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

die() { echo "integration.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the integration tests create ZFS pools and jails)"

# Debian's python3 has pytest (python3-pytest); a python3 earlier on PATH (pyenv...) may not.
PYTHON=/usr/bin/python3
"$PYTHON" -c 'import pytest' 2>/dev/null || die "$PYTHON has no pytest (apt-get install python3-pytest)"

export IOCELL_BIN=${IOCELL_BIN:-$repo/build-asan/iocell}
[ -x "$IOCELL_BIN" ] || die "$IOCELL_BIN was not built"
pytest_cmd=("$PYTHON" -m pytest tests/integration -ra --durations=10 "$@")

isolate=0
if [ "${IOCELL_TEST_ISOLATE:-1}" != 0 ] && [ ! -e /dev/zfs ]; then
    isolate=1
    echo "isolated zfs-fuse: private mount namespace, tmpfs on /var/run/zfs /var/lock/zfs /var/lib/zfs"
    export IOCELL_TEST_ISOLATED=1
fi
ns=()
if [ "${IOCELL_SLOW:-0}" != 1 ]; then
    ns+=(--net)
    export IOCELL_TEST_NETNS=1
    echo "private network namespace (only lo)"
fi
[ "$isolate" = 1 ] && ns+=(--mount --propagation private)

if [ ${#ns[@]} -eq 0 ]; then
    exec "${pytest_cmd[@]}"
fi
export IOCELL_TEST_ISOLATE_ZFS=$isolate
# shellcheck disable=SC2016  # expanded by the inner bash
exec unshare "${ns[@]}" -- bash -c '
    set -e
    if [ -n "${IOCELL_TEST_NETNS:-}" ]; then ip link set lo up; fi
    if [ "$IOCELL_TEST_ISOLATE_ZFS" = 1 ]; then
        for d in /var/run/zfs /var/lock/zfs /var/lib/zfs; do
            mkdir -p "$d"
            mount -t tmpfs -o mode=0755,size=64m iocell-test "$d"
        done
    fi
    exec "$@"' integration.sh "${pytest_cmd[@]}"
