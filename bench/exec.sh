#!/usr/bin/env bash
# bench/exec.sh: `iocell exec NAME /bin/true` into a running jail vs
#     nsenter --target INITPID --mount --uts --ipc --net --pid -- /bin/true
# into the same jail (INITPID from `iocell runtime NAME`; --user too when the jail has a user
# namespace of its own, as every jail but privileged=yes has). Target (issue 3): within 1.5x.
#   bash bench/exec.sh            (env: BENCH_EXEC_RUNS (default 2*BENCH_RUNS), see lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$0" "$@"

runs=${BENCH_EXEC_RUNS:-$((2 * BENCH_RUNS))}
J=bexec

"$IOCELL" create -c "release=$BENCH_REL" tag=$J exec_start=none >/dev/null
"$IOCELL" start $J >/dev/null
# the same jail without a user namespace (privileged=yes), for the cost of joining one
"$IOCELL" create -c "release=$BENCH_REL" tag=${J}p exec_start=none privileged=yes >/dev/null
"$IOCELL" start ${J}p >/dev/null
pidp=$("$IOCELL" runtime ${J}p | awk '/^INIT PID:/ {print $3}')
basep() { nsenter --target "$pidp" --mount --uts --ipc --net --pid -- /bin/true; }
pid=$("$IOCELL" runtime $J | awk '/^INIT PID:/ {print $3}')
[ -n "$pid" ] && [ -d "/proc/$pid" ] || bdie "no init pid from iocell runtime $J"

ze=$(bench_zfs_calls exec $J /bin/true)
# a jail in a user namespace of its own (all but privileged=yes): nsenter joins it too
userns=()
[ "$(readlink /proc/$pid/ns/user)" != "$(readlink /proc/self/ns/user)" ] && userns=(--user)
base() { nsenter --target "$pid" "${userns[@]}" --mount --uts --ipc --net --pid -- /bin/true; }
base
# the baseline really runs in the jail: its root is the jail's
[ "$(nsenter --target "$pid" --mount --uts -- /bin/hostname 2>/dev/null || true)" = "$("$IOCELL" exec $J /bin/hostname)" ] \
    || blog "warning: nsenter and iocell exec see different hostnames"

ti=(); tb=(); tp=(); tq=()
for ((i = 0; i < runs; i++)); do
    ti+=("$(bench_time "$IOCELL" exec $J /bin/true)")
    tb+=("$(bench_time base)")
    tp+=("$(bench_time "$IOCELL" exec ${J}p /bin/true)")
    tq+=("$(bench_time basep)")
done
mi=$(printf '%s\n' "${ti[@]}" | bench_median)
mb=$(printf '%s\n' "${tb[@]}" | bench_median)
mp=$(printf '%s\n' "${tp[@]}" | bench_median)
mq=$(printf '%s\n' "${tq[@]}" | bench_median)

echo "== exec (median of $runs runs, interleaved)"
bench_header
bench_row "exec /bin/true vs nsenter${userns:+ --user}" "$mi" "$mb" 1.5
bench_row "  privileged=yes vs nsenter" "$mp" "$mq" -
bench_row "  user namespace vs privileged=yes" "$mi" "$mp" -
bench_note "    zfs invocations of 'iocell exec': $ze (target 0)"
"$IOCELL" stop $J >/dev/null
"$IOCELL" stop ${J}p >/dev/null
