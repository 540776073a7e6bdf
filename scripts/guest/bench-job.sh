#!/bin/bash
# guest/bench-job.sh: the benchmarks (bench/run-all.sh) INSIDE the guest: OpenZFS 2.3 kernel
# module, systemd, pure cgroup v2. Run by scripts/guest/bench.sh through run.sh
# (IOCELL_GUEST_JOB); it gets the same job.env as job.sh. The release build (build-rel/)
# comes from the host. Emulation makes absolute times meaningless: the rows' ratios against
# the baselines measured in the same guest run are what counts. Output in
# /run/iocell-job/results/bench.txt (and pytest.log, for run.sh's summary).
set -euo pipefail

job=/run/iocell-job
results=$job/results
say() { echo "guest bench: $*"; }
die() { echo "guest bench: error: $*" >&2; exit 99; }

# shellcheck source=/dev/null
. "$job/job.env"
mkdir -p "$results"
case $REPO in /?*) ;; *) die "bad repository path '$REPO' in job.env" ;; esac
mkdir -p "$REPO"
tar -C "$REPO" -xf "$job/repo.tar" || die "cannot unpack the repository into $REPO"
[ -x "$REPO/build-rel/iocell" ] || die "no build-rel/iocell in the job (scripts/guest/bench.sh builds it)"
modprobe zfs || die "modprobe zfs failed"
cd "$REPO"
{
    echo "platform: kernel $(uname -r), $(zfs version 2>/dev/null | head -n 1), PID 1 $(cat /proc/1/comm),"
    echo "  /sys/fs/cgroup $(stat -f -c %T /sys/fs/cgroup), $(nproc) vCPU(s) under QEMU TCG"
} | tee "$results/bench.txt"
set +e
IOCELL_BUILDDIR=$REPO/build-rel BENCH_NOBUILD=1 BENCH_DIR=/tmp/benchzfs \
    bash bench/run-all.sh ${BENCH_ARGS:-} 2>&1 | tee -a "$results/bench.txt"
rc=${PIPESTATUS[0]}
set -e
cp "$results/bench.txt" "$results/pytest.log"
sync
exit "$rc"
