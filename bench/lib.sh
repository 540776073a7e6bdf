# bench/lib.sh: shared set-up, timing and reporting for the iocell benchmarks.
# Sourced by every bench/*.sh script (bash); see bench/README.md.
#
# A script does:
#     . "$(dirname "$0")/lib.sh"
#     bench_init "$0" "$@"     # re-exec in a private mount namespace if needed, set up pool
#     ...                      # measure with bench_time / bench_median, report with bench_row
# and everything is torn down at exit (trap), unless the pool was given (BENCH_POOL).
#
# Environment:
#   IOCELL_BUILDDIR  release build directory (default REPO/build-rel; configured with
#                    --buildtype=release and built by ninja when missing)
#   BENCH_DIR        scratch directory (default /tmp/benchzfs-PID): pool image, mount root,
#                    IOCELL_RUNDIR, daemon pidfile and log, busybox release tarball
#   BENCH_POOL       use this already-active pool (with release bb fetched) instead of
#                    creating one; nothing but the jails the benchmark made is torn down
#   BENCH_NOBUILD=1  do not run ninja (run-all.sh builds once, then sets it), e.g. when
#                    the source tree is being edited and must not be rebuilt mid-run
#   BENCH_RUNS       number of timed runs of the fast benchmarks (default 15)
#   BENCH_RESULTS    file to which every result row is appended (run-all.sh sets it)
#   BENCH_KEEP=1     keep the pool and the daemon (post-mortem)
#   BENCH_RUNDIR_TMPFS=0  keep IOCELL_RUNDIR (BENCH_DIR/run) on BENCH_DIR's filesystem
#                    instead of a tmpfs (default 1: as /run on a real host)

set -euo pipefail

BENCH_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IOCELL_BUILDDIR=${IOCELL_BUILDDIR:-$BENCH_REPO/build-rel}
IOCELL=$IOCELL_BUILDDIR/iocell
BENCH_RUNS=${BENCH_RUNS:-15}
BENCH_REL=bb

blog() { printf '[bench] %s\n' "$*" >&2; }
bdie() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

# ----------------------------------------------------------------------------------------
# build

bench_build() {
    if [ "${BENCH_NOBUILD:-0}" = 1 ]; then
        [ -x "$IOCELL" ] && [ -x "$IOCELL_BUILDDIR/iocell-init" ] || bdie "BENCH_NOBUILD=1 but no $IOCELL"
        return 0
    fi
    if [ ! -f "$IOCELL_BUILDDIR/build.ninja" ]; then
        blog "configuring the release build in $IOCELL_BUILDDIR"
        meson setup "$IOCELL_BUILDDIR" "$BENCH_REPO" --buildtype=release >&2
    fi
    ninja -C "$IOCELL_BUILDDIR" >&2
    [ -x "$IOCELL" ] && [ -x "$IOCELL_BUILDDIR/iocell-init" ] || bdie "no $IOCELL / iocell-init"
    local bt
    bt=$(meson introspect --buildoptions "$IOCELL_BUILDDIR" 2>/dev/null \
         | python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="buildtype"][0])' 2>/dev/null || echo '?')
    [ "$bt" = release ] || blog "warning: $IOCELL_BUILDDIR has buildtype=$bt, not release"
}

# ----------------------------------------------------------------------------------------
# environment: private mount namespace, own zfs-fuse daemon, scratch pool, release

# bench_init SCRIPT ARGS...: call first thing in a script.
bench_init() {
    local script=$1; shift
    [ "$(id -u)" -eq 0 ] || bdie "must run as root"
    if [ "${BENCH_ISOLATED:-0}" != 1 ]; then
        bench_build
        export BENCH_NOBUILD=1   # built: the re-executed script does not build again
    fi
    if [ -z "${BENCH_POOL:-}" ] && [ "${BENCH_ISOLATED:-0}" != 1 ]; then
        # Re-run the script in a private mount namespace with tmpfs over zfs-fuse's state
        # directories (our daemon sees no other pool and other daemons do not see ours),
        # and a private network namespace: default jails (vnet=on) create bridge0 and
        # veth pairs, which must not land on the host.
        export BENCH_ISOLATED=1 IOCELL_BUILDDIR
        # shellcheck disable=SC2016  # expanded by the inner bash
        exec unshare --mount --net --propagation private -- bash -c '
            set -e
            ip link set lo up
            for d in /var/run/zfs /var/lock/zfs /var/lib/zfs; do
                mkdir -p "$d"
                mount -t tmpfs -o mode=0755,size=64m iocell-test "$d"
            done
            exec bash "$@"' bench "$script" "$@"
    fi
    [ -x "$IOCELL" ] || bdie "no $IOCELL"
    trap bench_teardown EXIT
    trap 'exit 130' INT TERM HUP
    bench_setup
}

BENCH_DAEMON_PID=
BENCH_MADE_POOL=0

bench_setup() {
    if [ -n "${BENCH_POOL:-}" ]; then
        POOL=$BENCH_POOL
        "$IOCELL" activate | grep -qw "$POOL" || bdie "BENCH_POOL=$POOL is not the active pool"
        export IOCELL_RUNDIR=${IOCELL_RUNDIR:-/var/run/iocell}
    else
        BENCH_DIR=${BENCH_DIR:-/tmp/benchzfs-$$}
        POOL=${BENCH_POOLNAME:-benchp}
        mkdir -p "$BENCH_DIR/run"
        export IOCELL_RUNDIR=$BENCH_DIR/run
        # iocell's runtime directory on a tmpfs, as /run is on a real host (here BENCH_DIR
        # may be on a disk filesystem: replacing a state file on this machine's ext4 with
        # online discard waits 1-10 ms; doc/design.md).  We are in a private mount namespace.
        if [ "${BENCH_RUNDIR_TMPFS:-1}" = 1 ]; then
            mount -t tmpfs -o mode=0755,size=64m iocell-bench-run "$IOCELL_RUNDIR"
        fi
        if ! zpool list -H -o name >/dev/null 2>&1; then
            [ -e /dev/fuse ] || mknod -m 0666 /dev/fuse c 10 229
            zfs-fuse --pidfile "$BENCH_DIR/zfs-fuse.pid" >"$BENCH_DIR/zfs-fuse.log" 2>&1 </dev/null
            local i
            for i in $(seq 100); do
                zpool list -H -o name >/dev/null 2>&1 && break
                sleep 0.1
            done
            BENCH_DAEMON_PID=$(cat "$BENCH_DIR/zfs-fuse.pid" 2>/dev/null || true)
            zpool list -H -o name >/dev/null 2>&1 || bdie "zfs-fuse does not answer (log $BENCH_DIR/zfs-fuse.log)"
            blog "started zfs-fuse pid $BENCH_DAEMON_PID"
        fi
        zpool list -H -o name "$POOL" >/dev/null 2>&1 && bdie "pool $POOL exists already"
        truncate -s "${BENCH_POOLSIZE:-2G}" "$BENCH_DIR/pool.img"
        zpool create -m "$BENCH_DIR/mnt" "$POOL" "$BENCH_DIR/pool.img"
        BENCH_MADE_POOL=1
        "$IOCELL" activate "$POOL" "mountpoint=$BENCH_DIR/iocell" >/dev/null
        bash "$BENCH_REPO/scripts/mkbusybox-release.sh" "$BENCH_DIR/rel" >/dev/null
        "$IOCELL" fetch "release=$BENCH_REL" "ftplocaldir=$BENCH_DIR/rel" ftpfiles=rootfs.tar.xz >/dev/null
        blog "pool $POOL on $BENCH_DIR/pool.img, release $BENCH_REL fetched"
    fi
    IOCROOT=$POOL/iocell
    JAILS_DS=$IOCROOT/jails
    RELEASES_DS=$IOCROOT/releases
    REL_DS=$RELEASES_DS/$BENCH_REL
    # with BENCH_POOL, the jails already there are the user's: teardown leaves them
    if [ -n "${BENCH_POOL:-}" ]; then
        BENCH_PRE_JAILS=$(bench_jail_names | tr '\n' ' ')
    fi
    REL_ROOT=$(zfs get -H -o value mountpoint "$REL_DS/root" 2>/dev/null || true)
    [ -d "$REL_ROOT" ] || REL_ROOT=$(zfs get -H -o value mountpoint "$REL_DS")/root
    blog "load: $(uptime)"
}

# jails the script made (datasets directly under JAILS_DS); with BENCH_POOL only those are
# destroyed at the end
BENCH_PRE_JAILS=

bench_jail_names() { zfs list -H -o name -d 1 -r "$JAILS_DS" 2>/dev/null | grep -v "^$JAILS_DS\$" || true; }

# bench_destroy_jails: stop and destroy every jail made since the set-up
bench_destroy_jails() {
    "$IOCELL" stop -f ALL >/dev/null 2>&1 || true
    local ds
    for ds in $(bench_jail_names); do
        case " $BENCH_PRE_JAILS " in *" $ds "*) continue ;; esac
        zfs destroy -R -f "$ds" >/dev/null 2>&1 || zfs destroy -r "$ds" >/dev/null 2>&1 || blog "could not destroy $ds"
    done
    # created snapshots/clones of the release (create -c) go with the jails (-R above)
}

# bench_pid_alive PID: running (not gone, not a zombie)
bench_pid_alive() {
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

bench_teardown() {
    local rc=$?
    trap - EXIT
    set +e
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        blog "BENCH_KEEP=1: keeping pool $POOL, daemon $BENCH_DAEMON_PID, ${BENCH_DIR:-}"
        exit $rc
    fi
    if [ -n "${POOL:-}" ]; then
        if [ "$BENCH_MADE_POOL" = 1 ]; then
            "$IOCELL" stop -f ALL >/dev/null 2>&1
            local i
            for i in 1 2 3 4 5 6 7 8 9 10; do
                zpool destroy "$POOL" >/dev/null 2>&1 && break
                [ "$i" -ge 5 ] && zpool destroy -f "$POOL" >/dev/null 2>&1 && break
                sleep 0.3
            done
            zpool list "$POOL" >/dev/null 2>&1 && blog "could not destroy pool $POOL"
        else
            bench_destroy_jails
        fi
    fi
    if [ -n "$BENCH_DAEMON_PID" ] && [ "$(cat "/proc/$BENCH_DAEMON_PID/comm" 2>/dev/null)" = zfs-fuse ]; then
        kill "$BENCH_DAEMON_PID"
        for i in $(seq 200); do bench_pid_alive "$BENCH_DAEMON_PID" || break; sleep 0.1; done
        if bench_pid_alive "$BENCH_DAEMON_PID"; then
            blog "zfs-fuse $BENCH_DAEMON_PID ignored SIGTERM for 20 s: SIGKILL"
            kill -9 "$BENCH_DAEMON_PID"
        fi
    fi
    if [ "$BENCH_MADE_POOL" = 1 ] && [ -n "${BENCH_DIR:-}" ] && ! zpool list "$POOL" >/dev/null 2>&1; then
        if mountpoint -q "$BENCH_DIR/run"; then umount "$BENCH_DIR/run"; fi
        rm -rf --one-file-system "$BENCH_DIR"
    fi
    exit $rc
}

# ----------------------------------------------------------------------------------------
# timing

# bench_now: microseconds since the epoch, without forking
bench_now() { local t=${EPOCHREALTIME/./}; echo "${t#0}"; }

# bench_time CMD...: run CMD once (stdout/stderr discarded), print its wall time in ms
# (3 decimals). A failing CMD aborts the whole benchmark script.
bench_time() {
    local t0 t1
    t0=${EPOCHREALTIME/./}
    if ! "$@" >/dev/null 2>&1; then
        blog "command failed: $* -- once more with its output:"
        "$@" >&2 || true
        kill -TERM $$   # $$ is the script itself, also inside $(...): tear down and stop
        exit 1
    fi
    t1=${EPOCHREALTIME/./}
    echo $(( ${t1#0} - ${t0#0} )) | awk '{printf "%.3f\n", $1/1000}'
}

# bench_median: median of the numbers on stdin (one a line)
bench_median() {
    sort -g | awk '{a[NR]=$1} END {if (NR==0) {print "nan"; exit}
        if (NR%2) printf "%.3f\n", a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}

# bench_median_of N CMD...: median wall time in ms of N runs of CMD
bench_median_of() {
    local n=$1; shift
    local i
    for ((i = 0; i < n; i++)); do bench_time "$@"; done | bench_median
}

# bench_alternate N VAR_A VAR_B -- CMD_A... -- CMD_B...: not used; scripts interleave
# iocell and baseline runs themselves so that load changes hit both alike.

# ----------------------------------------------------------------------------------------
# zfs call counts

# bench_zfs_calls CMD...: run `iocell --debug CMD...`, print the number of `+ zfs` lines
bench_zfs_calls() {
    "$IOCELL" --debug "$@" 2>&1 >/dev/null | grep -c '^+ zfs ' || true
}

# ----------------------------------------------------------------------------------------
# reporting

# bench_header: the column titles
bench_header() {
    printf '%-34s %12s %12s %7s %7s %5s\n' BENCHMARK "IOCELL(ms)" "BASE(ms)" RATIO TARGET ""
}

# bench_row NAME IOCELL_MS BASE_MS TARGET_RATIO|-
bench_row() {
    local name=$1 a=$2 b=$3 target=$4 ratio verdict
    ratio=$(awk -v a="$a" -v b="$b" 'BEGIN {if (b > 0) printf "%.2f", a/b; else print "nan"}')
    if [ "$target" = - ]; then
        verdict=""
    else
        verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN {print (r <= t) ? "PASS" : "FAIL"}')
    fi
    local line
    line=$(printf '%-34s %12.3f %12.3f %6sx %6s %5s' "$name" "$a" "$b" "$ratio" \
        "$( [ "$target" = - ] && echo - || echo "${target}x")" "$verdict")
    echo "$line"
    if [ -n "${BENCH_RESULTS:-}" ]; then echo "$line" >>"$BENCH_RESULTS"; fi
}

# bench_note TEXT: a free-form result line (zfs call counts, memory...)
bench_note() {
    echo "$*"
    if [ -n "${BENCH_RESULTS:-}" ]; then echo "$*" >>"$BENCH_RESULTS"; fi
}
