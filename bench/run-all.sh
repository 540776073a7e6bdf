#!/usr/bin/env bash
# bench/run-all.sh: run every benchmark (each sets up and tears down its own zfs-fuse
# daemon and scratch pool, see lib.sh) and print the collected results at the end.
#   bash bench/run-all.sh [list create start net_start exec memory rcboot]    (default: all)
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
results=$(mktemp "${TMPDIR:-/tmp}/iocell-bench.XXXXXX")
trap 'rm -f "$results"' EXIT
export BENCH_RESULTS=$results

benches=("$@")
[ ${#benches[@]} -gt 0 ] || benches=(create start net_start exec memory rcboot list)
# build once (unless BENCH_NOBUILD=1), so every script measures the same binaries
# shellcheck source=lib.sh
( . "$here/lib.sh"; bench_build ) || exit 1
export BENCH_NOBUILD=1
failed=()
echo "load before: $(uptime)"
for b in "${benches[@]}"; do
    echo
    echo "######## $b.sh"
    if ! bash "$here/$b.sh"; then failed+=("$b"); fi
done
echo
echo "######## summary ($(date -u +%FT%TZ), load: $(uptime | sed 's/.*load average/load average/'))"
printf '%-34s %12s %12s %7s %7s %5s\n' BENCHMARK "IOCELL(ms)" "BASE(ms)" RATIO TARGET ""
cat "$results"
if [ ${#failed[@]} -gt 0 ]; then
    echo "benchmark scripts that failed: ${failed[*]}"
    exit 1
fi
