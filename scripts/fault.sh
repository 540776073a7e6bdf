#!/usr/bin/env bash
# fault.sh: the fault-injection suite (tests/fault), as root.  scripts/test.sh (and so CI)
# runs it after the integration tests.
#
#   bash scripts/fault.sh [PYTEST ARGS...]             CI mode: 100 kill trials + the rest
#   IOCELL_FAULT_TRIALS=1000 bash scripts/fault.sh     long mode
#   IOCELL_FAULT_SEED=1234 bash scripts/fault.sh -k 0042-   one trial again
#   bash scripts/fault.sh --no-build -k regress        regression tests only
#
# Knobs (see tests/fault/README.md): IOCELL_FAULT_SEED, IOCELL_FAULT_TRIALS,
# IOCELL_FAULT_KILL=group|process, IOCELL_FAULT_OPS=create-c,import-image,...,
# IOCELL_FAULT_DELAY_MS, IOCELL_FAULT_REDO=0, IOCELL_FAULT_REPORT=path.json,
# IOCELL_FAULT_STALL (seconds without a finished test before the watchdog dumps what is
# stuck and ends the run with status 7; default 300),
# IOCELL_FAULT_BIN (binary under test; default build/iocell, the optimized build: its
# timing is the one users get, and an ASan build is 2-5x slower, which moves the moments).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD
die() { echo "fault.sh: error: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (the suite creates ZFS pools and jails)"

build=1
if [ "${1:-}" = "--no-build" ]; then
    build=0
    shift
fi
PYTHON=/usr/bin/python3
"$PYTHON" -c 'import pytest' 2>/dev/null || die "$PYTHON has no pytest (apt-get install python3-pytest)"

if [ -z "${IOCELL_FAULT_BIN:-}" ] && [ "$build" = 1 ]; then
    bash scripts/deps.sh
    if [ ! -f build/build.ninja ]; then
        rm -rf build
        meson setup build
    fi
    ninja -C build
fi
export IOCELL_BIN="${IOCELL_FAULT_BIN:-$repo/build/iocell}"
[ -x "$IOCELL_BIN" ] || die "$IOCELL_BIN is not built (run without --no-build, or set IOCELL_FAULT_BIN)"
echo "fault.sh: binary under test $IOCELL_BIN"

# tests/fault unless paths under it are given
paths=(tests/fault)
for a in "$@"; do
    case $a in tests/*) paths=() ;; esac
done
pytest_cmd=("$PYTHON" -m pytest "${paths[@]}" -ra -p no:cacheprovider "$@")

# Same isolation as scripts/test.sh: a private mount namespace with tmpfs over zfs-fuse's
# state (a daemon and pool of our own) and a private network namespace (bridge0, veths).
if [ "${IOCELL_TEST_ISOLATE:-1}" != 0 ] && [ ! -e /dev/zfs ]; then
    export IOCELL_TEST_ISOLATED=1 IOCELL_TEST_NETNS=1
    # shellcheck disable=SC2016  # expanded by the inner bash
    exec unshare --mount --propagation private --net -- bash -c '
        set -e
        ip link set lo up
        for d in /var/run/zfs /var/lock/zfs /var/lib/zfs; do
            mkdir -p "$d"
            mount -t tmpfs -o mode=0755,size=64m iocell-fault "$d"
        done
        # the watchdog (tests/fault/watchdog.py) reads the FUSE requests waiting there
        mountpoint -q /sys/fs/fuse/connections ||
            mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
        exec "$@"' fault.sh "${pytest_cmd[@]}"
fi
exec "${pytest_cmd[@]}"
