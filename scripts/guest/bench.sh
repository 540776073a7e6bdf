#!/usr/bin/env bash
# guest/bench.sh: run the benchmarks (bench/run-all.sh) in the guest of the guest tier
# (OpenZFS 2.3, systemd, pure cgroup v2): builds the release build (build-rel/) here, then
# one guest with both CPUs runs scripts/guest/bench-job.sh. The results are printed and
# left in build-guest/bench-results/shard-1/bench.txt.
#   bash scripts/guest/bench.sh [BENCHMARKS...]     e.g.  bash scripts/guest/bench.sh start exec
# Env: BENCH_RUNS and the other BENCH_* knobs (passed on), IOCELL_GUEST_* (run.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
( . bench/lib.sh; bench_build ) || { echo "guest bench: the release build failed" >&2; exit 125; }
export BENCH_ARGS="$*"
rc=0
IOCELL_GUEST_JOB=$here/bench-job.sh IOCELL_GUEST_SHARDS=1 IOCELL_GUEST_CPUS=${IOCELL_GUEST_CPUS:-2} \
    IOCELL_GUEST_MEM=${IOCELL_GUEST_MEM:-4096} IOCELL_GUEST_RESULTS=$repo/build-guest/bench-results bash "$here/run.sh" || rc=$?
cat build-guest/bench-results/shard-1/bench.txt 2>/dev/null || true
exit "$rc"
