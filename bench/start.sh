#!/usr/bin/env bash
# bench/start.sh: start -> exec /bin/true -> stop of a minimal jail (busybox release,
# exec_start=none, vnet=off with no address: its own network namespace with loopback
# only, as the baseline's), the three commands together, vs one raw
#     unshare -pfmuin --fork chroot RELEASE_ROOT /bin/true
# on the release's root directory. Target (issue 16): within 3.5x (issue 3: 4x); the
# default jail's cycle (vnet=on, one veth) within 6x of the same baseline. Also reports each
# command's own median and its zfs invocations (exec and stop should need none), and the
# same cycle for a default jail (vnet=on: a veth pair on bridge0, see bench/net_start.sh)
# and for the first jail with privileged=yes (no user namespace).
#   bash bench/start.sh           (env: BENCH_START_RUNS (default BENCH_RUNS), see lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$0" "$@"

runs=${BENCH_START_RUNS:-$BENCH_RUNS}
J=bstart
V=bstartv

"$IOCELL" create -c "release=$BENCH_REL" tag=$J exec_start=none vnet=off ip4_addr=none >/dev/null
"$IOCELL" create -c "release=$BENCH_REL" tag=$V exec_start=none >/dev/null
# the first jail again without a user namespace (privileged=yes): what joining one costs
P=bstartp
"$IOCELL" create -c "release=$BENCH_REL" tag=$P exec_start=none vnet=off ip4_addr=none \
    privileged=yes >/dev/null
base() { unshare -pfmuin --fork chroot "$REL_ROOT" /bin/true; }

# zfs invocations of each command (one --debug cycle, also the warm-up)
zs=$(bench_zfs_calls start $J)
ze=$(bench_zfs_calls exec $J /bin/true)
zt=$(bench_zfs_calls stop $J)
dbg_start=$("$IOCELL" --debug start $J 2>&1 >/dev/null | grep '^+ ' | cut -c1-160 || true)
"$IOCELL" stop $J >/dev/null
"$IOCELL" start $V >/dev/null && "$IOCELL" stop $V >/dev/null   # MACs stored once
base

ts=(); te=(); tt=(); tall=(); tb=(); tv=(); tp=()
for ((i = 0; i < runs; i++)); do
    a=$(bench_time "$IOCELL" start $J)
    b=$(bench_time "$IOCELL" exec $J /bin/true)
    c=$(bench_time "$IOCELL" stop $J)
    ts+=("$a"); te+=("$b"); tt+=("$c")
    tall+=("$(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "%.3f", a+b+c}')")
    tb+=("$(bench_time base)")
    a=$(bench_time "$IOCELL" start $V)
    b=$(bench_time "$IOCELL" exec $V /bin/true)
    c=$(bench_time "$IOCELL" stop $V)
    tv+=("$(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "%.3f", a+b+c}')")
    a=$(bench_time "$IOCELL" start $P)
    b=$(bench_time "$IOCELL" exec $P /bin/true)
    c=$(bench_time "$IOCELL" stop $P)
    tp+=("$(awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {printf "%.3f", a+b+c}')")
done
med() { printf '%s\n' "$@" | bench_median; }
mb=$(med "${tb[@]}")

echo "== start/exec/stop (median of $runs runs, interleaved with the baseline)"
bench_header
bench_row "start+exec+stop vs unshare+chroot" "$(med "${tall[@]}")" "$mb" 3.5
bench_row "  start alone" "$(med "${ts[@]}")" "$mb" -
bench_row "  exec /bin/true alone" "$(med "${te[@]}")" "$mb" -
bench_row "  stop alone" "$(med "${tt[@]}")" "$mb" -
bench_row "  default jail (vnet=on, 1 veth)" "$(med "${tv[@]}")" "$mb" 6
bench_row "  privileged=yes (no user namespace)" "$(med "${tp[@]}")" "$mb" -
bench_note "    zfs invocations: start $zs, exec $ze (target 0), stop $zt (target 0)"
bench_note "    (start/exec/stop: $(uptime | sed 's/.*load average/load average/'))"
# start's one zfs get is skipped while the pool has committed nothing since the get the
# cached configuration came from (core/ztoken.h): how often that holds back-to-back
nz=0
for ((i = 0; i < 10; i++)); do
    [ "$(bench_zfs_calls start $J)" = 0 ] && nz=$((nz + 1))
    "$IOCELL" stop $J >/dev/null
done
bench_note "    start without a zfs call (pool change token unchanged): $nz of 10 back-to-back"
echo "    start ran:"
sed 's/^/      /' <<<"$dbg_start"
