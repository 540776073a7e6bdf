#!/usr/bin/env bash
# bench/rcboot.sh: `iocell rcboot` of 50 boot=on jails in 5 priority levels (10 each;
# busybox release, exec_start=none, vnet=off without addresses: loopback only in their
# own network namespace, so that it measures the boot logic, not bridges), against
# starting the same jails one by one (`iocell start J`, in priority order) in the same
# run, both as at boot (the runtime dir empty, the pool changed since the last shutdown).
# Target (issue 17): rcboot <= 0.5x the sequential time on 2 cores.  rcshutdown
# against stopping them one by one is reported too.
#   bash bench/rcboot.sh     (env: BENCH_BOOT_RUNS (default 3), BENCH_BOOT_JAILS (50),
#                             BENCH_BOOT_JOBS: rcboot -j (default: its own, the CPUs),
#                             BENCH_BOOT_KEEP_RUNDIR=1: keep the runtime dir, see cold())
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$0" "$@"

runs=${BENCH_BOOT_RUNS:-3}
njails=${BENCH_BOOT_JAILS:-50}
jobs=()
[ -n "${BENCH_BOOT_JOBS:-}" ] && jobs=(-j "$BENCH_BOOT_JOBS")

names=()
for ((i = 0; i < njails; i++)); do
    prio=$(( (i % 5) * 10 + 10 ))
    n=$(printf 'rb%02d' "$i")
    "$IOCELL" create -c "release=$BENCH_REL" "tag=$n" boot=on "priority=$prio" \
        exec_start=none vnet=off ip4_addr=none >/dev/null
    names+=("$n")
done
# one by one in rcboot's order: by priority, then tag
mapfile -t order < <(for ((i = 0; i < njails; i++)); do
    printf '%d %s\n' $(( (i % 5) * 10 + 10 )) "${names[$i]}"; done | sort -k1,1n -k2,2 | cut -d' ' -f2)
seq_start() { local n; for n in "${order[@]}"; do "$IOCELL" start "$n" || return 1; done; }
# As at boot: /run is a fresh tmpfs, so IOCELL_RUNDIR holds nothing -- no cached
# configuration (RUNDIR/UUID.conf, which a start would otherwise set up from while its
# `zfs get` confirms it), no name index, no pool record, no compiled seccomp filter -- and
# the pool may have changed since the last shutdown (a `zfs set` commits a txg, so no
# pool change token read before still holds).  Every trial, one by one or rcboot, starts
# from that.  Not timed.  BENCH_BOOT_KEEP_RUNDIR=1 keeps the runtime dir instead (a host
# that has run for a while, whose pool changed: every start then sets up from its stale
# cached configuration while its `zfs get` confirms it).
tick=0
cold() {
    tick=$((tick + 1))
    zfs set "bench:boot=$tick" "$POOL" || bdie "zfs set on $POOL failed"
    [ "${BENCH_BOOT_KEEP_RUNDIR:-0}" = 1 ] && return 0
    [ -z "$("$IOCELL" list -H | grep $'\tup\t' || true)" ] || bdie "jails running at a cold start"
    find "$IOCELL_RUNDIR" -mindepth 1 -delete || bdie "cannot empty $IOCELL_RUNDIR"
}
seq_stop() { local i; for ((i = ${#order[@]} - 1; i >= 0; i--)); do "$IOCELL" stop "${order[$i]}" || return 1; done; }
boot() { "$IOCELL" rcboot "${jobs[@]}"; }
shut() { "$IOCELL" rcshutdown "${jobs[@]}"; }

# warm-up (caches, first-start MAC storage: none here, vnet=off)
boot >/dev/null; shut >/dev/null

ts=(); tb=(); tt=(); td=()
for ((r = 0; r < runs; r++)); do
    cold
    ts+=("$(bench_time seq_start)")
    tt+=("$(bench_time seq_stop)")
    cold
    tb+=("$(bench_time boot)")
    td+=("$(bench_time shut)")
done
[ "$("$IOCELL" list -H | grep -c $'\tup\t' || true)" = 0 ] || bdie "jails left running"
med() { printf '%s\n' "$@" | bench_median; }

echo "== rcboot of $njails jails in 5 priority levels ($(nproc) CPUs; median of $runs runs)"
bench_header
bench_row "rcboot vs start one by one" "$(med "${tb[@]}")" "$(med "${ts[@]}")" 0.5
bench_row "  rcshutdown vs stop one by one" "$(med "${td[@]}")" "$(med "${tt[@]}")" -
