#!/usr/bin/env bash
# test.sh: the whole test suite on a fresh Debian 12 machine, as root.
#
#   bash scripts/test.sh [PYTEST ARGS...]     e.g.  bash scripts/test.sh -k smoke -x
#
# 1. scripts/deps.sh (apt packages; a no-op when everything is installed)
# 2. scripts/format.sh (clang-format check of every C file against .clang-format)
#    build/      normal build          (meson setup build; ninja -C build)
# 3. build-asan/ ASan+UBSan build      (-Db_sanitize=address,undefined -Db_lundef=false)
# Host tier (this machine's ZFS and cgroups: here zfs-fuse and a hybrid cgroup v1 host):
# 4. meson unit tests (cmocka) in build-asan
#    fuzz (bounded): scripts/fuzz.sh --time 15 (build-fuzz/, clang libFuzzer + ASan/UBSan;
#    every target of tests/fuzz for 15 s, any crash, leak or UB fails)
# 5. scripts/integration.sh: pytest tests/integration against build-asan/iocell, in a
#    private network namespace (the conftest starts zfs-fuse if no ZFS daemon answers and
#    creates/destroys its own scratch pool; with zfs-fuse, also in a private mount namespace
#    with a daemon of its own).
# Guest tier (OpenZFS 2.3 kernel modules, systemd as PID 1 owning a pure cgroup v2 tree):
# 6. scripts/guest/run.sh: the same integration tests inside a Debian bookworm guest under
#    QEMU's emulator (about 30 minutes). The guest is built into build-guest/ once (about 5
#    minutes) and reused while its inputs are unchanged.
#
# 7. (host tier) the fault-injection suite (scripts/fault.sh, tests/fault: 100 kill trials
#    with 0 residue, the regression and race tests; about 5 minutes, cut at
#    IOCELL_FAULT_TIMEOUT seconds, default 900): by default when no pytest arguments are
#    given; IOCELL_FAULT=1 forces it, IOCELL_FAULT=0 skips it
#
# IOCELL_TIERS=host|guest|both (default both) chooses the tiers; the builds always run.
# IOCELL_HOST_TIMEOUT (seconds, default 1500): no host-tier integration test starts after it
# (the run then fails as interrupted); a hung one is killed 600 s later. When the host tier
# or the fault suite failed, the guest tier is not run.
# IOCELL_BUDGET (seconds, default 3300) bounds the whole run: the guest tier's time limit
# is what is left of it after the host tier (at least 600 s, at most 2700 s), unless
# IOCELL_GUEST_TIMEOUT is set.
# A failing test in the guest, or a guest run past IOCELL_GUEST_TIMEOUT, fails this script as
# a host-tier failure does. IOCELL_GUEST_STRICT=0 makes them advisory instead (summarised
# loudly, not failing the script: for trying the guest on a machine too slow for its time
# limit). A guest that cannot be built or ends without a result fails this script either way.
# Runs every selected tier, then exits non-zero if any failed. Extra arguments go to pytest
# (in both tiers).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n=== %s ===\n' "$*"; }
die() { echo "test.sh: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (the integration tests create ZFS pools and jails)"

tiers=${IOCELL_TIERS:-both}
case $tiers in host | guest | both) ;; *) die "IOCELL_TIERS must be host, guest or both (not '$tiers')" ;; esac
strict=${IOCELL_GUEST_STRICT:-1}
case $strict in 0 | 1) ;; *) die "IOCELL_GUEST_STRICT must be 0 or 1 (not '$strict')" ;; esac

step "dependencies"
bash scripts/deps.sh

# The guest (scripts/guest/build.sh: apt, debootstrap, the OpenZFS modules; minutes on a
# fresh machine, seconds once cached) builds in the background meanwhile: the project's
# builds and the host tier do not need it.
gbuild_pid=
if [ "$tiers" != host ]; then
    mkdir -p build-guest
    step "guest tier: building the guest in the background (log: build-guest/build.log)"
    bash scripts/guest/build.sh > build-guest/build.log 2>&1 &
    gbuild_pid=$!
    trap '[ -z "$gbuild_pid" ] || kill "$gbuild_pid" 2>/dev/null || true' EXIT
fi

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
# (The guest tier passes both variables on to the guest.)
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=86:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

host_rc=
if [ "$tiers" != guest ]; then
    step "host tier: unit tests (meson test -C build-asan)"
    meson test -C build-asan --print-errorlogs --timeout-multiplier 3 || die "unit tests failed"

    step "host tier: fuzz (bounded): scripts/fuzz.sh --time ${IOCELL_FUZZ_TIME:-15}"
    bash scripts/fuzz.sh --time "${IOCELL_FUZZ_TIME:-15}" || die "fuzzing found a problem"

    step "host tier: integration tests (pytest tests/integration)"
    [ -x build-asan/iocell ] || die "build-asan/iocell was not built"
    host_rc=0
    # Bounded: no test starts after IOCELL_HOST_TIMEOUT seconds (default 1500; the tier takes
    # 7 to 12 minutes), and a hung one is killed 600 s later, so that a hang ends this run
    # with its failures shown (each timed-out call prints what it waited on) instead of
    # running into CI's own limit with no summary.
    host_timeout=${IOCELL_HOST_TIMEOUT:-1500}
    IOCELL_TEST_DEADLINE=$(( $(date +%s) + host_timeout )) IOCELL_BIN="$PWD/build-asan/iocell" \
        timeout --kill-after=60 $(( host_timeout + 600 )) \
        bash scripts/integration.sh "$@" || host_rc=$?
fi

# The fault-injection suite (tests/fault, issue 15): 100 kill trials with 0 residue, the
# regression and race tests (about 5 min, bounded by IOCELL_FAULT_TIMEOUT).  On by default
# in the host tier; a run with pytest arguments (a quick loop, e.g. -k smoke) skips it
# unless IOCELL_FAULT=1, and IOCELL_FAULT=0 always does.  It builds nothing here: build/ is
# fresh.
fault_rc=
fault_default=1
[ $# -gt 0 ] && fault_default=0
if [ "$tiers" != guest ] && [ "${IOCELL_FAULT:-$fault_default}" = 1 ]; then
    step "host tier: fault injection (tests/fault)"
    fault_rc=0
    timeout --kill-after=60 "${IOCELL_FAULT_TIMEOUT:-900}" \
        bash scripts/fault.sh --no-build || fault_rc=$?
fi

guest_rc=
if [ "$tiers" != host ] && [ "${host_rc:-0}" -ne 0 -o "${fault_rc:-0}" -ne 0 ]; then
    # the run has failed already: the guest's half hour would only delay the result
    step "guest tier: not run (the host tier failed)"
    [ -z "$gbuild_pid" ] || kill "$gbuild_pid" 2>/dev/null || true
    gbuild_pid=
elif [ "$tiers" != host ]; then
    step "guest tier: the guest build (started in the background)"
    gb_rc=0
    wait "$gbuild_pid" || gb_rc=$?
    gbuild_pid=
    cat build-guest/build.log
    guest_rc=0
    if [ "$gb_rc" -ne 0 ]; then
        echo "test.sh: the guest build failed (status $gb_rc; log above)" >&2
        guest_rc=125
    else
        step "guest tier: integration tests on OpenZFS 2.3 + systemd + pure cgroup v2 (QEMU guests)"
        # The whole run keeps to IOCELL_BUDGET seconds (default 3300: CI's 60 minutes
        # less a margin): the guests get what the builds and the host tier left, unless
        # IOCELL_GUEST_TIMEOUT says otherwise.
        if [ -z "${IOCELL_GUEST_TIMEOUT:-}" ]; then
            left=$(( ${IOCELL_BUDGET:-3300} - SECONDS - 60 ))
            [ "$left" -ge 600 ] || left=600
            [ "$left" -le 2700 ] || left=2700
            export IOCELL_GUEST_TIMEOUT=$left
        fi
        echo "guest time limit: ${IOCELL_GUEST_TIMEOUT} s (IOCELL_GUEST_TIMEOUT; ${SECONDS} s used so far of IOCELL_BUDGET=${IOCELL_BUDGET:-3300})"
        bash scripts/guest/run.sh "$@" || guest_rc=$?
    fi
fi

step "summary"
status=0
advisory=0
if [ -n "$host_rc" ]; then
    if [ "$host_rc" -eq 0 ]; then
        echo "host tier:  passed"
    else
        case $host_rc in
            124 | 137) echo "host tier:  FAILED (killed: ran $(( ${IOCELL_HOST_TIMEOUT:-1500} + 600 )) s; a test hung)" ;;
            2) echo "host tier:  FAILED (pytest status 2: interrupted, e.g. IOCELL_HOST_TIMEOUT=${IOCELL_HOST_TIMEOUT:-1500} s passed)" ;;
            *) echo "host tier:  FAILED (pytest status $host_rc)" ;;
        esac
        status=1
    fi
fi
if [ -n "$fault_rc" ]; then
    case $fault_rc in
        0) echo "fault suite: passed" ;;
        124) echo "fault suite: FAILED (ran past IOCELL_FAULT_TIMEOUT=${IOCELL_FAULT_TIMEOUT:-900} s)"; status=1 ;;
        7) echo "fault suite: FAILED (STALLED: no test finished for IOCELL_FAULT_STALL=${IOCELL_FAULT_STALL:-300} s; the watchdog's message above names the stuck trial and step)"; status=1 ;;
        *) echo "fault suite: FAILED (pytest status $fault_rc)"; status=1 ;;
    esac
fi
if [ -n "$guest_rc" ]; then
    log=build-guest/results/pytest.log
    case $guest_rc in
        0) echo "guest tier: passed" ;;
        1)
            if [ "$strict" = 1 ]; then
                echo "guest tier: FAILED (tests failed; IOCELL_GUEST_STRICT=1)"
                status=1
            else
                advisory=1
                echo "guest tier: TESTS FAILED - ADVISORY ONLY (IOCELL_GUEST_STRICT=0)."
                echo "            Failures on OpenZFS 2.3 + systemd + pure cgroup v2; they do not"
                echo "            fail this run because IOCELL_GUEST_STRICT=0 was asked for. Log: $log"
            fi
            if [ -f "$log" ]; then
                grep -E '^(FAILED|ERROR) ' "$log" | sed 's/^/    /' || true
                # one summary line per guest (shard)
                grep -E '^=+ .*[0-9]+ (passed|failed|errors?).* in [0-9.]+s' "$log" | sed 's/^/    /' || true
            fi
            ;;
        124)
            # Advisory too when IOCELL_GUEST_STRICT=0: a machine slower than CI's may not fit
            # the suite's emulated run in the time left.
            if [ "$strict" = 1 ]; then
                echo "guest tier: FAILED (the guest ran past IOCELL_GUEST_TIMEOUT; log: build-guest/results/)"
                status=1
            else
                advisory=1
                echo "guest tier: TIMED OUT - ADVISORY ONLY (IOCELL_GUEST_STRICT=0): the guest ran past"
                echo "            IOCELL_GUEST_TIMEOUT; what ran is in build-guest/results/pytest.log"
                grep -E '^(FAILED|ERROR) |(FAILED|ERROR) +\[' "$log" 2>/dev/null | sed 's/^/    /' || true
            fi
            ;;
        125) echo "guest tier: FAILED (the guest could not be built or ended without a result)"; status=1 ;;
        *) echo "guest tier: FAILED (pytest status $guest_rc; log: $log)"; status=1 ;;
    esac
fi
[ "$status" -eq 0 ] || die "a test tier failed (see the summary above)"
if [ "$advisory" = 1 ]; then
    step "passed, except the guest tier's advisory failures listed above"
else
    step "all tests passed"
fi
