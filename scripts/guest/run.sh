#!/usr/bin/env bash
# guest/run.sh: the guest test tier. Runs the integration suite inside a Debian bookworm
# guest with OpenZFS 2.3 kernel modules and systemd as PID 1 on a pure cgroup v2 tree, under
# QEMU's emulator (TCG), as root. The host's builds are used as they are: build/ and
# build-asan/ must exist (scripts/test.sh makes them).
#
#   bash scripts/guest/run.sh [PYTEST ARGS...]      e.g.  bash scripts/guest/run.sh -k smoke
#
# 1. scripts/guest/build.sh builds or reuses the guest (build-guest/: kernel, initramfs,
#    root.img), rebuilding only what changed.
# 2. A job folder (shared with the guest over 9p as "iocell-job", read-write) gets job.sh,
#    job.env (the repository's path, the pytest arguments, the test knobs) and repo.tar: the
#    source tree and the outputs of build/ and build-asan/ (no object files), which
#    the guest unpacks at the same absolute path as here. (A copy on the guest's own disk:
#    executing a 5 MB ASan binary over 9p costs 0.7 s a call under emulation.)
# 3. QEMU boots the guest (both CPUs, root.img as a throw-away snapshot, no network device);
#    systemd starts iocell-guest-job.service, which runs job.sh (pytest via
#    scripts/integration.sh in a private network namespace) and powers the guest off.
#    The guest's console is printed here live, each line prefixed "guest| ".
# 4. The results land in build-guest/results/ (junit.xml, pytest.log, console.log,
#    platform.txt); the exit status is pytest's (0 passed, 1 tests failed, ...), or
#    124 when the guest ran past IOCELL_GUEST_TIMEOUT (then QEMU is killed), or
#    125 when the guest ended without a result (boot or job failure) or could not be built.
#
# Env: IOCELL_GUEST_BUILD=plain|asan: the binary the guest suite runs, build/iocell (the
#      default) or build-asan/iocell. The host tier runs the ASan build; under emulation it
#      is 2-3 times slower a call (ASan's shadow memory costs page faults that TCG makes
#      expensive), which would put the guest suite past CI's time, so the guest tier
#      tests the plain build, as users run it.
#      IOCELL_GUEST_TIMEOUT (seconds for the whole guest run, default 2700),
#      IOCELL_GUEST_MEM (MiB, default 6144), IOCELL_GUEST_CPUS (default: the host's, max 4),
#      (IOCELL_SLOW is not passed on: the slow tests debootstrap from the Debian mirror and
#      the guest has no network device, so they are skipped there.)
#      IOCELL_GUEST_CPU_MODEL (QEMU -cpu, default max), IOCELL_GUEST_APPEND (more kernel
#      arguments; default mitigations=off),
#      IOCELL_GUEST_DIR (see build.sh), IOCELL_GUEST_JOB (a script to run in the guest
#      instead of job.sh, for debugging; it gets the same job.env), and the test knobs passed on to the guest:
#      IOCELL_TEST_TIMEOUT, IOCELL_TEST_KEEP, IOCELL_TEST_DEBIAN_MIRROR,
#      IOCELL_TEST_TIME_SCALE (job.sh's default: 10), ASAN_OPTIONS, UBSAN_OPTIONS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=${IOCELL_GUEST_DIR:-$repo/build-guest}

log() { echo "guest run: $*" >&2; }
die() { echo "guest run: error: $*" >&2; exit 125; }
now() { date +%s; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
for b in build/iocell build/iocell-init build-asan/iocell; do
    [ -x "$repo/$b" ] || die "$repo/$b is not built (bash scripts/test.sh builds it; or meson/ninja as test.sh does)"
done

timeout_s=${IOCELL_GUEST_TIMEOUT:-2700}
mem=${IOCELL_GUEST_MEM:-6144}
cpu_model=${IOCELL_GUEST_CPU_MODEL:-max}
# mitigations=off: this throw-away test guest runs no untrusted code, and the kernel's
# Spectre/Meltdown work-arounds (page-table switches and flushes at every system call) are
# expensive to emulate (measured: /bin/true 0.13 -> 0.06 s, zfs and iocell calls 10-40 %
# faster without them).
append=${IOCELL_GUEST_APPEND-mitigations=off}
case ${IOCELL_GUEST_BUILD:-plain} in
    plain) bin=$repo/build/iocell ;;
    asan) bin=$repo/build-asan/iocell ;;
    *) die "IOCELL_GUEST_BUILD must be plain or asan (not '${IOCELL_GUEST_BUILD}')" ;;
esac
cpus=${IOCELL_GUEST_CPUS:-$(nproc)}
[[ $timeout_s =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ && $cpus =~ ^[1-9][0-9]*$ ]] \
    || die "IOCELL_GUEST_TIMEOUT, IOCELL_GUEST_MEM and IOCELL_GUEST_CPUS must be whole numbers"
[ "$cpus" -le 4 ] || cpus=4

t0=$(now)
bash "$here/build.sh" || die "building the guest failed (scripts/guest/build.sh, see above)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
for f in vmlinuz initrd.img root.img guest.env; do
    [ -s "$out/$f" ] || die "$out/$f missing after build.sh"
done
t_built=$(now)

# ---- the job folder (removed at exit; results copied out first)
qpid= tpid= job=
cleanup() {
    if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
        log "stopping QEMU (pid $qpid)"
        kill "$qpid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
        kill -9 "$qpid" 2>/dev/null || true
    fi
    if [ -n "$tpid" ]; then kill "$tpid" 2>/dev/null || true; fi
    if [ -n "$job" ]; then rm -rf "$job"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

job=$(mktemp -d "$out/job.XXXXXX")
chmod 0755 "$job"
mkdir -p "$job/results"
install -m 0755 "${IOCELL_GUEST_JOB:-$here/job.sh}" "$job/job.sh"
{
    printf 'REPO=%q\n' "$repo"
    printf 'PYTEST_ARGS=('; [ $# -eq 0 ] || printf '%q ' "$@"; printf ')\n'
    printf 'IOCELL_BIN=%q\n' "$bin"
    for v in IOCELL_TEST_TIMEOUT IOCELL_TEST_KEEP IOCELL_TEST_DEBIAN_MIRROR \
        IOCELL_TEST_TIME_SCALE ASAN_OPTIONS UBSAN_OPTIONS; do
        [ -z "${!v+x}" ] || printf 'export %s=%q\n' "$v" "${!v}"
    done
} > "$job/job.env"
: > "$job/console.log"
# The repository as the tests need it: sources, scripts, tests, and the builds' binaries.
tar -C "$repo" -cf "$job/repo.tar" --exclude=./.git --exclude='./build*' \
    --exclude=__pycache__ --exclude=.pytest_cache . \
    || die "cannot pack $repo into $job/repo.tar"
# From the build folders: the programs and other outputs (e.g. build/tests/escape's probe),
# not the object files, static libraries and meson's own state.
(cd "$repo" && find build build-asan \( -name '*.p' -o -name 'meson-*' \) -prune \
    -o -type f ! -name '*.a' ! -name '*.o' -print0 \
    | tar -rf "$job/repo.tar" --null -T -) || die "cannot add the builds to $job/repo.tar"

# ---- boot
# shellcheck disable=SC1091
. "$out/guest.env"
qemu=(
    qemu-system-x86_64 -accel tcg,thread=multi -cpu "$cpu_model" -smp "$cpus" -m "$mem"
    -nodefaults -no-user-config -display none -monitor none -no-reboot
    -serial "file:$job/console.log"
    -kernel "$out/vmlinuz" -initrd "$out/initrd.img"
    -append "root=/dev/vda console=ttyS0 panic=-1 quiet loglevel=4 systemd.show_status=error iocell.job $append"
    -drive "file=$out/root.img,format=raw,if=virtio,snapshot=on,cache=unsafe"
    -virtfs "local,path=$job,mount_tag=iocell-job,security_model=none"
    -device virtio-rng-pci
)
if [ "${IOCELL_SLOW:-0}" = 1 ]; then
    log "note: IOCELL_SLOW=1 is not passed to the guest (no network device there): its slow tests are skipped"
fi
log "booting the guest (kernel $KVER, OpenZFS $ZFS_VERSION, $cpus CPUs, $mem MiB, TCG; timeout ${timeout_s} s)"
"${qemu[@]}" > "$job/qemu.log" 2>&1 < /dev/null &
qpid=$!
# The console, live (tail ends by itself when QEMU is gone).
tail -n +1 -F --pid="$qpid" "$job/console.log" 2>/dev/null | sed -u 's/\r$//; s/^/guest| /' &
tpid=$!

timed_out=0
deadline=$((t_built + timeout_s))
qcpu=0
while kill -0 "$qpid" 2>/dev/null; do
    # QEMU's CPU time so far (utime + stime, in clock ticks): how much of the wall time the
    # emulator actually ran (on a busy host it waits for a CPU)
    qcpu=$(awk '{ print $14 + $15 }' "/proc/$qpid/stat" 2>/dev/null || echo "$qcpu")
    if [ "$(now)" -ge "$deadline" ]; then
        timed_out=1
        log "the guest ran past ${timeout_s} s (IOCELL_GUEST_TIMEOUT): killing QEMU (pid $qpid)"
        kill "$qpid" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$qpid" 2>/dev/null || break; sleep 1; done
        kill -9 "$qpid" 2>/dev/null || true
        break
    fi
    sleep 1
done
qrc=0
wait "$qpid" || qrc=$?
qpid=
wait "$tpid" 2>/dev/null || true
tpid=
t_end=$(now)

# ---- results
rm -rf "$out/results"
mkdir -p "$out/results"
cp -a "$job/results/." "$out/results/" 2>/dev/null || true
cp "$job/console.log" "$job/qemu.log" "$out/results/" 2>/dev/null || true

if [ "$qrc" -ne 0 ] && [ "$timed_out" = 0 ]; then
    log "QEMU exited with status $qrc:"
    sed 's/^/  /' "$job/qemu.log" >&2
fi
suite_s=$(cat "$out/results/suite-seconds" 2>/dev/null || echo "?")
log "times: guest build/check $((t_built - t0)) s, guest run $((t_end - t_built)) s (suite ${suite_s} s), QEMU CPU time $((qcpu / $(getconf CLK_TCK))) s"
log "results in $out/results (junit.xml, pytest.log, console.log)"
if [ "$timed_out" = 1 ]; then
    exit 124
fi
if [ ! -s "$job/status" ]; then
    log "error: the guest powered off without a job status (see $out/results/console.log)"
    exit 125
fi
rc=$(cat "$job/status")
[[ $rc =~ ^[0-9]+$ ]] || { log "error: bad job status '$rc'"; exit 125; }
if [ "$rc" = 99 ]; then
    log "error: the guest job failed before the suite could run (see above)"
    exit 125
fi
log "guest suite exit status: $rc"
exit "$rc"
