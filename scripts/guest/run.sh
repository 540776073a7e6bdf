#!/usr/bin/env bash
# guest/run.sh: the guest test tier. Runs the integration suite inside Debian bookworm
# guests with OpenZFS 2.3 kernel modules and systemd as PID 1 on a pure cgroup v2 tree,
# under QEMU's emulator (TCG), as root. The host's builds are used as they are: build/ and
# build-asan/ must exist (scripts/test.sh makes them).
#
#   bash scripts/guest/run.sh [PYTEST ARGS...]      e.g.  bash scripts/guest/run.sh -k smoke
#
# 1. scripts/guest/build.sh builds or reuses the guest (build-guest/: kernel, initramfs,
#    root.img), rebuilding only what changed.
# 2. The suite is split over IOCELL_GUEST_SHARDS guests (default: one per host CPU, at
#    most 4), each with one vCPU, its own kernel, ZFS and scratch pool: nothing is shared
#    between them. pytest's run is a single process, so a guest keeps one emulated CPU
#    busy; two guests keep two host CPUs busy. tests/integration/shard.py deals the test
#    modules out by their measured durations: scripts/guest/durations.txt (committed) and
#    the JUnit reports of the last full run in build-guest/results/ (when there is one).
# 3. Each guest gets a job folder (shared over 9p as "iocell-job", read-write) with job.sh,
#    job.env (the repository's path, the pytest arguments, its shard, the test knobs) and
#    repo.tar: the source tree and the outputs of build/ and build-asan/ (no object
#    files), which the guest unpacks at the same absolute path as here. (A copy on the
#    guest's own disk: executing a 5 MB ASan binary over 9p costs 0.7 s a call under
#    emulation.)
# 4. QEMU boots each guest (root.img as a throw-away snapshot, no network device); systemd
#    starts iocell-guest-job.service, which runs job.sh (pytest via scripts/integration.sh
#    in a private network namespace) and powers the guest off. The consoles are printed
#    here live, each line prefixed "guestN| ".
# 5. The results land in build-guest/results/: shard-N/ per guest (junit.xml, pytest.log,
#    console.log, platform.txt, boot.txt) and pytest.log (all shards' logs in one). The
#    exit status is 0 when every shard passed, 1 when tests failed, 124 when the guests ran
#    past IOCELL_GUEST_TIMEOUT (then QEMU is killed), 125 when a guest ended without a
#    result (boot or job failure) or the guest could not be built; otherwise pytest's.
#
# Env: IOCELL_GUEST_BUILD=plain|asan: the binary the guest suite runs, build/iocell (the
#      default) or build-asan/iocell. The host tier runs the ASan build; under emulation it
#      is 2-3 times slower a call (ASan's shadow memory costs page faults that TCG makes
#      expensive), so the guest tier tests the plain build, as users run it.
#      IOCELL_GUEST_SHARDS (guests, default: the host's CPUs, 1 to 4),
#      IOCELL_GUEST_CPUS (vCPUs per guest, default 1), IOCELL_GUEST_MEM (MiB per guest,
#      default 3072), IOCELL_GUEST_TIMEOUT (seconds for the whole guest run, default 2700),
#      (IOCELL_SLOW is not passed on: the slow tests debootstrap from the Debian mirror and
#      the guest has no network device, so they are skipped there.)
#      IOCELL_GUEST_CPU_MODEL (QEMU -cpu, default max), IOCELL_GUEST_APPEND (more kernel
#      arguments; default mitigations=off),
#      IOCELL_GUEST_RESULTS (default build-guest/results), IOCELL_GUEST_DIR (see build.sh), IOCELL_GUEST_JOB (a script to run in the guest
#      instead of job.sh, e.g. scripts/guest/bench-job.sh; it gets the same job.env), and the
#      test knobs passed on to the guest: IOCELL_TEST_TIMEOUT, IOCELL_TEST_KEEP,
#      IOCELL_TEST_DEBIAN_MIRROR, IOCELL_TEST_TIME_SCALE (job.sh's default: 10),
#      BENCH_* (bench/, scripts/guest/bench.sh), ASAN_OPTIONS, UBSAN_OPTIONS.
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
resdir=${IOCELL_GUEST_RESULTS:-$out/results} # where the results go
mem=${IOCELL_GUEST_MEM:-3072}
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
cpus=${IOCELL_GUEST_CPUS:-1}
shards=${IOCELL_GUEST_SHARDS:-$(nproc)}
[[ $timeout_s =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ && $cpus =~ ^[1-9][0-9]*$ && $shards =~ ^[1-9][0-9]*$ ]] \
    || die "IOCELL_GUEST_TIMEOUT, IOCELL_GUEST_MEM, IOCELL_GUEST_CPUS and IOCELL_GUEST_SHARDS must be whole numbers"
[ "$cpus" -le 4 ] || cpus=4
[ "$shards" -le 4 ] || shards=4
# The ARC caches what the pool (a file in the guest's tmpfs, i.e. RAM) holds anyway:
# keep it small, so that the guests' memory stays what the suite uses.
arc_max=$((mem / 8 * 1024 * 1024))

t0=$(now)
bash "$here/build.sh" || die "building the guest failed (scripts/guest/build.sh, see above)"
mkdir -p "$out"
out=$(cd "$out" && pwd)
for f in vmlinuz initrd.img root.img guest.env; do
    [ -s "$out/$f" ] || die "$out/$f missing after build.sh"
done
t_built=$(now)

# ---- the job folders (removed at exit; results copied out first)
qpids=() tpids=() job= collected=0
cleanup() {
    local p
    for p in "${qpids[@]}"; do
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            log "stopping QEMU (pid $p)"
            kill "$p" 2>/dev/null || true
        fi
    done
    for p in "${qpids[@]}"; do
        [ -n "$p" ] || continue
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 1; done
        kill -9 "$p" 2>/dev/null || true
    done
    for p in "${tpids[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -n "$job" ] && [ "$collected" = 0 ]; then
        # interrupted: keep what the shards wrote so far (junit.xml is written at the end)
        rm -rf "$resdir.partial"
        for d in "$job"/[0-9]*; do
            [ -d "$d" ] || continue
            mkdir -p "$resdir.partial/shard-${d##*/}"
            cp -a "$d/results/." "$d/console.log" "$resdir.partial/shard-${d##*/}/" 2>/dev/null || true
        done
        log "interrupted: what the guests wrote so far is in $resdir.partial/"
    fi
    if [ -n "$job" ]; then rm -rf "$job"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

job=$(mktemp -d "$out/job.XXXXXX")
chmod 0755 "$job"
# The repository as the tests need it: sources, scripts, tests, and the builds' binaries.
tar -C "$repo" -cf "$job/repo.tar" --exclude=./.git --exclude='./build*' \
    --exclude=__pycache__ --exclude=.pytest_cache . \
    || die "cannot pack $repo into $job/repo.tar"
# From the build folders: the programs and other outputs (e.g. build/tests/escape's probe),
# not the object files, static libraries and meson's own state.
# build-rel/ (the benchmarks' release build) too when there is one.
extra=(); [ ! -x "$repo/build-rel/iocell" ] || extra=(build-rel)
(cd "$repo" && find build build-asan "${extra[@]}" \( -name '*.p' -o -name 'meson-*' \) -prune \
    -o -type f ! -name '*.a' ! -name '*.o' -print0 \
    | tar -rf "$job/repo.tar" --null -T -) || die "cannot add the builds to $job/repo.tar"

# Durations for the split: the committed table, then the modules the last run (even one
# cut short) finished, then the last full run's reports.
mkdir -p "$job/durations"
cp "$here/durations.txt" "$job/durations/0-committed.txt" 2>/dev/null || true
for f in "$resdir"/shard-*/durations.txt "$resdir.partial"/shard-*/durations.txt; do
    [ -s "$f" ] || continue
    n=$(basename "$(dirname "$f")")
    case $f in "$resdir.partial"/*) n=partial-$n ;; esac
    cp "$f" "$job/durations/1-measured-$n.txt"
done
if [ -f "$resdir/full-run" ]; then
    for f in "$out"/results/shard-*/junit.xml; do
        [ -s "$f" ] || continue
        cp "$f" "$job/durations/2-last-$(basename "$(dirname "$f")").xml"
    done
fi
durations=
for f in "$job"/durations/*; do
    [ -f "$f" ] && durations+="${durations:+:}/run/iocell-job/durations/$(basename "$f")"
done

for ((i = 1; i <= shards; i++)); do
    d=$job/$i
    mkdir -p "$d/results" "$d/durations"
    chmod 0755 "$d"
    ln "$job/repo.tar" "$d/repo.tar"
    cp "$job"/durations/* "$d/durations/" 2>/dev/null || true
    install -m 0755 "${IOCELL_GUEST_JOB:-$here/job.sh}" "$d/job.sh"
    {
        printf 'REPO=%q\n' "$repo"
        printf 'PYTEST_ARGS=('; [ $# -eq 0 ] || printf '%q ' "$@"; printf ')\n'
        printf 'IOCELL_BIN=%q\n' "$bin"
        printf 'SHARD=%q\n' "$i/$shards"
        if [ "$shards" -gt 1 ]; then
            printf 'export IOCELL_TEST_SHARD=%q\n' "$i/$shards"
            printf 'export IOCELL_TEST_DURATIONS=%q\n' "$durations"
        fi
        for v in IOCELL_TEST_TIMEOUT IOCELL_TEST_KEEP IOCELL_TEST_DEBIAN_MIRROR \
            IOCELL_TEST_TIME_SCALE ASAN_OPTIONS UBSAN_OPTIONS $(compgen -v BENCH_ || true); do
            [ -z "${!v+x}" ] || printf 'export %s=%q\n' "$v" "${!v}"
        done
    } > "$d/job.env"
    : > "$d/console.log"
done

# ---- boot
# shellcheck disable=SC1091
. "$out/guest.env"
if [ "${IOCELL_SLOW:-0}" = 1 ]; then
    log "note: IOCELL_SLOW=1 is not passed to the guest (no network device there): its slow tests are skipped"
fi
log "booting $shards guest(s) (kernel $KVER, OpenZFS $ZFS_VERSION, $cpus vCPU and $mem MiB each, TCG; timeout ${timeout_s} s)"
for ((i = 1; i <= shards; i++)); do
    d=$job/$i
    qemu=(
        qemu-system-x86_64 -accel tcg,thread=multi -cpu "$cpu_model" -smp "$cpus" -m "$mem"
        -nodefaults -no-user-config -display none -monitor none -no-reboot
        -serial "file:$d/console.log"
        -kernel "$out/vmlinuz" -initrd "$out/initrd.img"
        -append "root=/dev/vda console=ttyS0 panic=-1 quiet loglevel=4 systemd.show_status=error iocell.job zfs.zfs_arc_max=$arc_max $append"
        -drive "file=$out/root.img,format=raw,if=virtio,snapshot=on,cache=unsafe"
        -virtfs "local,path=$d,mount_tag=iocell-job,security_model=none"
        -device virtio-rng-pci
    )
    "${qemu[@]}" > "$d/qemu.log" 2>&1 < /dev/null &
    qpids[i]=$!
    # The console, live (tail ends by itself when QEMU is gone).
    tail -n +1 -F --pid="${qpids[i]}" "$d/console.log" 2>/dev/null | sed -u "s/\r\$//; s/^/guest$i| /" &
    tpids[i]=$!
done

timed_out=0
deadline=$((t_built + timeout_s))
declare -A qcpu=() t_end=()
while :; do
    alive=0
    for ((i = 1; i <= shards; i++)); do
        p=${qpids[i]}
        if kill -0 "$p" 2>/dev/null; then
            alive=1
            # QEMU's CPU time so far (utime + stime, in clock ticks): how much of the wall
            # time the emulator actually ran (on a busy host it waits for a CPU)
            qcpu[$i]=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo "${qcpu[$i]:-0}")
        elif [ -z "${t_end[$i]:-}" ]; then
            t_end[$i]=$(now)
        fi
    done
    [ "$alive" = 1 ] || break
    if [ "$(now)" -ge "$deadline" ]; then
        timed_out=1
        log "the guests ran past ${timeout_s} s (IOCELL_GUEST_TIMEOUT): killing QEMU"
        for ((i = 1; i <= shards; i++)); do kill "${qpids[i]}" 2>/dev/null || true; done
        sleep 5
        for ((i = 1; i <= shards; i++)); do kill -9 "${qpids[i]}" 2>/dev/null || true; done
        break
    fi
    sleep 1
done
declare -A qrc=()
for ((i = 1; i <= shards; i++)); do
    qrc[$i]=0
    wait "${qpids[i]}" || qrc[$i]=$?
    qpids[i]=
    wait "${tpids[i]}" 2>/dev/null || true
    t_end[$i]=${t_end[$i]:-$(now)}
done
tpids=()

# ---- results
collected=1
rm -rf "$resdir" "$resdir.partial"
mkdir -p "$resdir"
tick=$(getconf CLK_TCK)
status=0 worst=
: > "$resdir/pytest.log"
for ((i = 1; i <= shards; i++)); do
    d=$job/$i r=$resdir/shard-$i
    mkdir -p "$r"
    cp -a "$d/results/." "$r/" 2>/dev/null || true
    cp "$d/console.log" "$d/qemu.log" "$r/" 2>/dev/null || true
    {
        echo "======== guest shard $i/$shards ========"
        cat "$r/pytest.log" 2>/dev/null || echo "(no pytest.log)"
    } >> "$resdir/pytest.log"
    if [ "${qrc[$i]}" -ne 0 ] && [ "$timed_out" = 0 ]; then
        log "shard $i: QEMU exited with status ${qrc[$i]}:"
        sed 's/^/  /' "$d/qemu.log" >&2
    fi
    rc=
    if [ -s "$d/status" ]; then
        rc=$(cat "$d/status")
        [[ $rc =~ ^[0-9]+$ ]] || { log "shard $i: bad job status '$rc'"; rc=125; }
        [ "$rc" != 99 ] || { log "shard $i: the guest job failed before the suite could run"; rc=125; }
        # a shard that the split (or -k) left without tests
        if [ "$rc" = 5 ] && [ "$shards" -gt 1 ]; then rc=0; fi
    elif [ "$timed_out" = 1 ]; then
        rc=124
    else
        log "shard $i: the guest powered off without a job status (see $r/console.log)"
        rc=125
    fi
    log "shard $i: status $rc, guest run $((t_end[$i] - t_built)) s (suite $(cat "$r/suite-seconds" 2>/dev/null || echo "?") s), QEMU CPU time $((${qcpu[$i]:-0} / tick)) s"
    case $rc in
        0) ;;
        125) worst=125 ;;
        124) [ "$worst" = 125 ] || worst=124 ;;
        1) [ -n "$worst" ] || worst=1 ;;
        *) [ -n "$worst" ] && [ "$worst" != 1 ] || worst=$rc ;;
    esac
done
[ -z "$worst" ] || status=$worst
# Durations of a run of the whole suite balance the next run's split.
if [ $# -eq 0 ] && [ "$status" -le 1 ] && [ "$timed_out" = 0 ]; then
    : > "$resdir/full-run"
fi
log "times: guest build/check $((t_built - t0)) s, guests $(($(now) - t_built)) s"
log "results in $resdir (shard-N/: junit.xml, pytest.log, console.log; pytest.log: all shards)"
exit "$status"
