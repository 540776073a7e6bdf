#!/usr/bin/env bash
# bench/memory.sh: host memory per idle running jail. Starts N (default 10) minimal jails
# (busybox release, exec_start=none), sums VmRSS (/proc/PID/status) and Pss
# (/proc/PID/smaps_rollup) of their init processes and divides by N. Target (issue 3):
# under 1 MB per jail, the jail's init only. Checks that nothing else stays resident per
# jail: no iocell process left, one process in each jail's cgroup and PID namespace, and
# the init's parent is not a supervisor of ours.
# Reference (not a target): the same figures for an idle static busybox `sleep` started by
# a raw `unshare -pfmuin --fork chroot RELEASE_ROOT /bin/sleep` (plus its unshare parent).
#   bash bench/memory.sh          (env: BENCH_MEM_JAILS=10, see lib.sh)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$0" "$@"

n=${BENCH_MEM_JAILS:-10}

"$IOCELL" create -c "release=$BENCH_REL" "count=$n" tag=bmem exec_start=none >/dev/null
mapfile -t uuids < <(bench_jail_names | sed 's|.*/||')
[ "${#uuids[@]}" -eq "$n" ] || bdie "expected $n jails, have ${#uuids[@]}"
for u in "${uuids[@]}"; do "$IOCELL" start "$u" >/dev/null; done
sleep 1   # let the inits settle

kb_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
kb_pss() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }

sum_rss=0; sum_pss=0; bad=0
for u in "${uuids[@]}"; do
    rt=$("$IOCELL" runtime "$u")
    pid=$(awk '/^INIT PID:/ {print $3}' <<<"$rt")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || bdie "jail $u: no init pid"
    r=$(kb_rss "$pid"); p=$(kb_pss "$pid")
    sum_rss=$((sum_rss + r)); sum_pss=$((sum_pss + p))
    # processes in the jail's cgroup (first controller directory `runtime` lists)
    cg=$(awk '/^CGROUP:/ {f=1; next} f && /^  \// {print $1; exit}' <<<"$rt")
    [ -n "$cg" ] || cg=$(awk '/^CGROUP:/ {print $3}' <<<"$rt")
    ncg=$( [ -r "$cg/cgroup.procs" ] && wc -l <"$cg/cgroup.procs" || echo '?')
    # processes in the jail's PID namespace
    ns=$(readlink "/proc/$pid/ns/pid")
    nns=0
    for q in /proc/[0-9]*; do
        [ "$(readlink "$q/ns/pid" 2>/dev/null)" = "$ns" ] && nns=$((nns + 1))
    done
    ppid=$(awk '{print $4}' "/proc/$pid/stat")
    pcomm=$(cat "/proc/$ppid/comm" 2>/dev/null || echo '?')
    [ "$ncg" = 1 ] && [ "$nns" = 1 ] || bad=$((bad + 1))
    printf '    jail %s init pid %-7s RSS %5s kB  Pss %5s kB  cgroup procs %s  pidns procs %s  parent %s (%s)\n' \
        "${u:0:8}" "$pid" "$r" "$p" "$ncg" "$nns" "$ppid" "$pcomm"
done
# iocell processes still running (ours, by executable): should be none
niocell=0
for q in /proc/[0-9]*; do
    [ "$(readlink "$q/exe" 2>/dev/null)" = "$(readlink -f "$IOCELL")" ] && niocell=$((niocell + 1))
done

# reference: an idle static busybox sleep in raw namespaces
unshare -pfmuin --fork chroot "$REL_ROOT" /bin/sleep 3600 2>/dev/null &   # (it complains when killed)
upid=$!
sleep 0.5
spid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null | awk '{print $1}')
ref_rss=$(kb_rss "$spid"); ref_pss=$(kb_pss "$spid")
u_rss=$(kb_rss "$upid"); u_pss=$(kb_pss "$upid")
# the sleep is PID 1 of its namespace: only SIGKILL reaches it from outside
kill -KILL "$spid" 2>/dev/null || true
wait "$upid" 2>/dev/null || true

per_rss=$(awk -v s="$sum_rss" -v n="$n" 'BEGIN {printf "%.1f", s/n}')
per_pss=$(awk -v s="$sum_pss" -v n="$n" 'BEGIN {printf "%.1f", s/n}')
echo "== memory per idle running jail ($n jails)"
bench_note "    init RSS per jail: $per_rss kB, Pss per jail: $per_pss kB (target < 1024 kB: $(awk -v p="$per_rss" 'BEGIN {print (p < 1024) ? "PASS" : "FAIL"}') by RSS, $(awk -v p="$per_pss" 'BEGIN {print (p < 1024) ? "PASS" : "FAIL"}') by Pss)"
bench_note "    reference: busybox sleep under raw unshare+chroot RSS $ref_rss kB Pss $ref_pss kB (+ its unshare parent RSS $u_rss kB Pss $u_pss kB)"
bench_note "    resident iocell processes after the starts: $niocell (target 0); jails with other than exactly 1 process in cgroup/pidns: $bad (target 0)"
"$IOCELL" stop ALL >/dev/null
