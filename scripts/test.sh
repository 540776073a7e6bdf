#!/usr/bin/env bash
# test.sh: the whole test suite on a fresh Debian 12 machine, as root.
#
#   bash scripts/test.sh [PYTEST ARGS...]     e.g.  bash scripts/test.sh -k smoke -x
#
# 1. scripts/deps.sh (apt packages; a no-op when everything is installed)
# 2. scripts/format.sh (clang-format check of every C file against .clang-format)
#    build/      normal build          (meson setup build; ninja -C build)
# 3. build-asan/ ASan+UBSan build      (-Db_sanitize=address,undefined -Db_lundef=false)
# 4. meson unit tests (cmocka) in build-asan
# 5. pytest tests/integration against build-asan/iocell (the conftest starts zfs-fuse if
#    no ZFS daemon answers, and creates/destroys its own scratch pool). With zfs-fuse this
#    runs in a private mount namespace with a daemon of its own (see below).
# 6. the fault-injection suite (scripts/fault.sh, tests/fault): by default when no pytest
#    arguments are given; IOCELL_FAULT=1 forces it, IOCELL_FAULT=0 skips it
# Exits non-zero if any step fails. Extra arguments go to pytest.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

step() { printf '\n=== %s ===\n' "$*"; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the integration tests create ZFS pools and jails)"

step "dependencies"
bash scripts/deps.sh

# Debian's python3 has pytest (python3-pytest); a python3 earlier on PATH (pyenv...) may not.
PYTHON=/usr/bin/python3
"$PYTHON" -c 'import pytest' 2>/dev/null || die "$PYTHON has no pytest (apt-get install python3-pytest)"

# setup_builddir DIR [meson options...]: configure once, afterwards only apply the options
setup_builddir() {
    local dir=$1; shift
    if [ -f "$dir/build.ninja" ] && [ -d "$dir/meson-private" ]; then
        if [ $# -gt 0 ]; then
            meson configure "$dir" "$@" \
                || meson setup --wipe "$dir" "$@"
        fi
    else
        rm -rf "$dir"
        meson setup "$dir" "$@"
    fi
}

step "format (scripts/format.sh)"
bash scripts/format.sh

step "build (build/)"
setup_builddir build
ninja -C build

step "sanitizer build (build-asan/)"
# -Werror stays on in build/; gcc 12 emits false positives under -fsanitize (e.g.
# -Wformat-truncation on vsnprintf(NULL, 0, ...)), so warnings do not fail this build.
setup_builddir build-asan -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan

# Sanitizers: leaks and UB are failures. A distinct exit code (86) tells a sanitizer abort
# from iocell's own 1/2; the pytest helpers also fail any call whose stderr has a report.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

step "unit tests (meson test -C build-asan)"
meson test -C build-asan --print-errorlogs --timeout-multiplier 3

step "integration tests (pytest tests/integration)"
[ -x build-asan/iocell ] || die "build-asan/iocell was not built"
export IOCELL_BIN="$repo/build-asan/iocell"
pytest_cmd=("$PYTHON" -m pytest tests/integration -ra --durations=10 "$@")

# With zfs-fuse (no kernel /dev/zfs), run pytest in a private mount namespace with tmpfs
# over the daemon's state dirs: the conftest then starts a daemon of its own that sees no
# other pool, so `iocell activate` (which clears the mark on every other pool) cannot
# disturb pools of this host. IOCELL_TEST_ISOLATE=0 uses the host's daemon instead.
if [ "${IOCELL_TEST_ISOLATE:-1}" != 0 ] && [ ! -e /dev/zfs ]; then
    echo "isolated zfs-fuse: private mount namespace, tmpfs on /var/run/zfs /var/lock/zfs /var/lib/zfs"
    export IOCELL_TEST_ISOLATED=1
    [ "${IOCELL_SLOW:-0}" = 1 ] || export IOCELL_TEST_NETNS=1
    # shellcheck disable=SC2016  # expanded by the inner bash
    # A private network namespace too: default jails (vnet=on) create bridge0 and veth
    # pairs, and every test address must stay off this host's own network. Slow tests
    # (IOCELL_SLOW=1: debootstrap from the mirror) need the host's network instead.
    netns=(--net)
    [ "${IOCELL_SLOW:-0}" = 1 ] && netns=()
    unshare --mount --propagation private "${netns[@]}" -- bash -c '
        set -e
        [ -n "$IOCELL_TEST_NETNS" ] && ip link set lo up
        for d in /var/run/zfs /var/lock/zfs /var/lib/zfs; do
            mkdir -p "$d"
            mount -t tmpfs -o mode=0755,size=64m iocell-test "$d"
        done
        exec "$@"' test.sh "${pytest_cmd[@]}"
else
    "${pytest_cmd[@]}"
fi

# The fault-injection suite (tests/fault, issue 15): 100 kill trials with 0 residue, the
# regression and race tests (about 4-5 min).  On by default; a run with pytest arguments
# (a quick loop, e.g. -k smoke) skips it unless IOCELL_FAULT=1, and IOCELL_FAULT=0 always
# does.  It builds nothing here: build/ is fresh.
fault_default=1
[ $# -gt 0 ] && fault_default=0
if [ "${IOCELL_FAULT:-$fault_default}" = 1 ]; then
    step "fault injection (tests/fault)"
    bash scripts/fault.sh --no-build
fi

step "all tests passed"
