#!/usr/bin/env bash
# bench/list.sh: `iocell list -H` with 10, 100 and 1000 jails vs the one bare `zfs list`
# (same dataset, same columns) that `iocell --debug list -H` shows it running.
# Target (issue 2): at most 1.5x, and one zfs invocation whatever the number of jails.
# zfs-fuse cannot keep more than ~500 file systems mounted, so for sizes above 200 the
# jails' datasets are unmounted after creation (the listing does not depend on it).
#   bash bench/list.sh            (env: BENCH_RUNS, BENCH_LIST_SIZES="10 100 1000", see lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$0" "$@"

sizes=${BENCH_LIST_SIZES:-10 100 1000}
runs=$BENCH_RUNS

echo "== list: iocell list -H vs one bare zfs list (median of $runs runs, interleaved)"
bench_header

have=$(bench_jail_names | wc -l)
for n in $sizes; do
    if [ "$have" -lt "$n" ]; then
        add=$((n - have))
        t0=$(bench_now)
        # count=N in batches: one iocell process per batch of clones
        while [ "$add" -gt 0 ]; do
            b=$(( add > 100 ? 100 : add ))
            "$IOCELL" create -c "release=$BENCH_REL" "count=$b" >/dev/null
            add=$((add - b))
            # zfs-fuse serves at most ~500 mounted file systems (2 per jail): past 200 jails,
            # unmount the jails' datasets (list does not need them mounted)
            if [ "$n" -gt 200 ]; then
                zfs list -H -o name,mounted -r "$JAILS_DS" | awk -v top="$JAILS_DS" \
                    '$2 == "yes" && $1 != top {print $1}' | sort -r | while read -r ds; do
                    zfs umount "$ds"
                done
            fi
        done
        t1=$(bench_now)
        blog "created $((n - have)) clone jails in $(( (t1 - t0) / 1000 )) ms"
        have=$(bench_jail_names | wc -l)
    fi

    # the exact zfs command iocell runs, from --debug
    dbg=$("$IOCELL" --debug list -H 2>&1 >/dev/null)
    zcalls=$(grep -c '^+ zfs ' <<<"$dbg" || true)
    zcmd=$(grep -m1 '^+ zfs list' <<<"$dbg" | sed 's/^+ //')
    [ -n "$zcmd" ] || bdie "iocell --debug list -H showed no zfs list: $dbg"
    # a shell-quoted command line: run it through eval
    base() { eval "$zcmd"; }
    lines=$("$IOCELL" list -H | wc -l)
    [ "$lines" -eq "$n" ] || blog "warning: iocell list -H shows $lines jails, expected $n"

    # warm-up (caches of the daemon and of iocell's index)
    "$IOCELL" list -H >/dev/null; base >/dev/null

    ti=(); tb=()
    for ((i = 0; i < runs; i++)); do
        ti+=("$(bench_time "$IOCELL" list -H)")
        tb+=("$(bench_time base)")
    done
    mi=$(printf '%s\n' "${ti[@]}" | bench_median)
    mb=$(printf '%s\n' "${tb[@]}" | bench_median)
    bench_row "list -H, $n jails" "$mi" "$mb" 1.5
    bench_note "    zfs invocations of 'iocell list -H' with $n jails: $zcalls (target 1)"
done
echo "    baseline: $zcmd"
