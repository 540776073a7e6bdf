#!/usr/bin/env bash
# bench/create.sh:
#  - `iocell create -c` vs the bare zfs commands it needs: the `zfs create -o ...` of the jail
#    dataset and the `zfs clone` of the release snapshot that `iocell --debug create -c` shows,
#    replayed with a new UUID and tag. Target (issue 2): at most 3 zfs invocations, at most 1.5x.
#  - thick `iocell create` vs a bare `zfs send RELEASE@release | zfs recv NEW`. Target
#    (issue 16): at most 1.3x and 3 zfs invocations (send and recv count one each); with
#    IOCELL_SLOW=1 also on a debootstrapped Debian bookworm release (BENCH_SLOW_RUNS runs,
#    default 3): debootstrapped by fetch from the apt mirror (BENCH_DEBIAN_MIRROR), which
#    needs the network the bench's private network namespace does not have, or fetched
#    from BENCH_DEBIAN_TARBALL (e.g. `debootstrap --variant=minbase bookworm DIR MIRROR;
#    tar -C DIR -cf /tmp/deb/rootfs.tar .` run on the host first).
#   bash bench/create.sh          (env: BENCH_RUNS, see lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$0" "$@"

runs=$BENCH_RUNS
newuuid() { cat /proc/sys/kernel/random/uuid; }

# ---- clone: learn the exact commands from one --debug run
dbg=$("$IOCELL" --debug create -c "release=$BENCH_REL" tag=cdebug 2>&1)
zcalls_c=$(grep -c '^+ zfs ' <<<"$dbg" || true)
dbg_c=$dbg
uuid0=$(sed -n 's/^\([0-9a-f-]\{36\}\) (cdebug)$/\1/p' <<<"$dbg")
[ -n "$uuid0" ] || bdie "cannot find the new UUID in: $dbg"
zc_create=$(grep -m1 '^+ zfs create' <<<"$dbg" | sed 's/^+ //')
zc_clone=$(grep -m1 '^+ zfs clone' <<<"$dbg" | sed 's/^+ //')
[ -n "$zc_create" ] && [ -n "$zc_clone" ] || bdie "no zfs create/clone in: $dbg"

# base_clone UUID TAG: the two bare commands with the names replaced
base_clone() {
    local c1 c2
    c1=${zc_create//$uuid0/$1}; c1=${c1//iocell:tag=cdebug/iocell:tag=$2}
    c2=${zc_clone//$uuid0/$1}
    eval "$c1" && eval "$c2"
}

# warm-up
"$IOCELL" create -c "release=$BENCH_REL" tag=cwarm >/dev/null
base_clone "$(newuuid)" bwarm

ti=(); tb=()
for ((i = 0; i < runs; i++)); do
    ti+=("$(bench_time "$IOCELL" create -c "release=$BENCH_REL" "tag=c$i")")
    tb+=("$(bench_time base_clone "$(newuuid)" "b$i")")
done
mi_c=$(printf '%s\n' "${ti[@]}" | bench_median)
mb_c=$(printf '%s\n' "${tb[@]}" | bench_median)

# ---- thick: learn the commands, baseline is the send|recv of the release snapshot
dbg=$("$IOCELL" --debug create "release=$BENCH_REL" tag=tdebug 2>&1)
zcalls_t=$(grep -c '^+ zfs ' <<<"$dbg" || true)
relsnap=$(sed -n 's/^+ zfs send \(.*\)$/\1/p' <<<"$dbg" | head -1)
[ -n "$relsnap" ] || relsnap=$REL_DS/root@release
zfs create -o mountpoint=none -o canmount=off "$POOL/benchrecv" 2>/dev/null || true
base_thick() { zfs send "$relsnap" | zfs recv "$POOL/benchrecv/$1"; }

"$IOCELL" create "release=$BENCH_REL" tag=twarm >/dev/null
base_thick warm

ti=(); tb=()
for ((i = 0; i < runs; i++)); do
    ti+=("$(bench_time "$IOCELL" create "release=$BENCH_REL" "tag=t$i")")
    tb+=("$(bench_time base_thick "r$i")")
done
mi_t=$(printf '%s\n' "${ti[@]}" | bench_median)
mb_t=$(printf '%s\n' "${tb[@]}" | bench_median)

# ---- thick on a Debian release (IOCELL_SLOW=1): a real release's size and file count
slow_rows=()
if [ "${IOCELL_SLOW:-0}" = 1 ]; then
    mirror=${BENCH_DEBIAN_MIRROR:-}
    [ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | sed -n 's/^URIs: *\(http[^ ]*\).*/\1/p' | grep -v security | head -1 || true)
    [ -n "$mirror" ] || mirror=http://deb.debian.org/debian
    if [ -n "${BENCH_DEBIAN_TARBALL:-}" ]; then
        blog "IOCELL_SLOW=1: fetching bookworm from $BENCH_DEBIAN_TARBALL"
        "$IOCELL" fetch release=bookworm "ftplocaldir=$(dirname "$BENCH_DEBIAN_TARBALL")" \
            "ftpfiles=$(basename "$BENCH_DEBIAN_TARBALL")" >/dev/null
    else
        blog "IOCELL_SLOW=1: fetching bookworm (debootstrap) from $mirror"
        "$IOCELL" fetch release=bookworm "ftphost=$mirror" >/dev/null
    fi
    dsnap=$(zfs list -H -o name -t snapshot -r "$POOL" | grep '/releases/bookworm/root@' | head -1)
    srun=${BENCH_SLOW_RUNS:-3}
    di=(); db=()
    for ((i = 0; i < srun; i++)); do
        di+=("$(bench_time "$IOCELL" create release=bookworm "tag=d$i" vnet=off)")
        db+=("$(bench_time bash -c "zfs send $dsnap | zfs recv $POOL/benchrecv/d$i")")
    done
    slow_rows=("$(printf '%s\n' "${di[@]}" | bench_median)" "$(printf '%s\n' "${db[@]}" | bench_median)")
fi

echo "== create (median of $runs runs, interleaved)"
bench_header
bench_row "create -c vs zfs create+clone" "$mi_c" "$mb_c" 1.5
bench_row "create (thick) vs zfs send|recv" "$mi_t" "$mb_t" 1.3
[ ${#slow_rows[@]} -eq 0 ] || bench_row "  Debian bookworm (thick)" "${slow_rows[0]}" "${slow_rows[1]}" 1.3
zcalls_c2=$(bench_zfs_calls create -c "release=$BENCH_REL" tag=ccount)
zcalls_t2=$(bench_zfs_calls create "release=$BENCH_REL" tag=tcount)
bench_note "    zfs invocations of 'iocell create -c': first in a fresh pool $zcalls_c, later $zcalls_c2 (target <= 3)$( [ "$zcalls_c" -le 3 ] && [ "$zcalls_c2" -le 3 ] && echo ' PASS' || echo ' FAIL')"
bench_note "    zfs invocations of 'iocell create' (thick; send and recv count one each): first $zcalls_t, later $zcalls_t2 (target <= 3)$( [ "$zcalls_t2" -le 3 ] && echo ' PASS' || echo ' FAIL')"
echo "    first create -c in the fresh pool ran:"
grep '^+ zfs' <<<"$dbg_c" | cut -c1-150 | sed 's/^/      /'
echo "    a later create -c ran:"
"$IOCELL" --debug create -c "release=$BENCH_REL" tag=cshow 2>&1 >/dev/null | grep '^+ zfs' | cut -c1-150 | sed 's/^/      /'
echo "    thick create ran:"
"$IOCELL" --debug create "release=$BENCH_REL" tag=tshow 2>&1 >/dev/null | grep '^+ zfs' | cut -c1-150 | sed 's/^/      /'
zfs destroy -r "$POOL/benchrecv" 2>/dev/null || true
