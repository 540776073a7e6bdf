#!/bin/bash
# guest/job.sh: the guest test tier's job, run INSIDE the guest by iocell-guest-job.service
# (scripts/guest/run.sh copies it into the job share, /run/iocell-job, with job.env).
#
# Unpacks the host's repository (sources and builds, repo.tar) at the same absolute path as
# on the host, makes sure kernel ZFS is loaded, prints the platform's facts and runs
# scripts/integration.sh (pytest in a private network namespace) against $IOCELL_BIN (the
# repository's build/iocell or build-asan/iocell, see run.sh), with the JUnit XML and the full output in /run/iocell-job/results.
# Exits with pytest's status.
set -euo pipefail

job=/run/iocell-job
results=$job/results
say() { echo "guest job: $*"; }
die() { echo "guest job: error: $*" >&2; exit 99; }

# shellcheck source=/dev/null
. "$job/job.env" # REPO, IOCELL_BIN, PYTEST_ARGS (array), exported test knobs
export IOCELL_BIN
mkdir -p "$results"

case $REPO in /?*) ;; *) die "bad repository path '$REPO' in job.env";; esac
[ ! -e "$REPO" ] || die "$REPO already exists in the guest"
mkdir -p "$REPO"
tar -C "$REPO" -xf "$job/repo.tar" || die "cannot unpack the repository into $REPO"

modprobe zfs || die "modprobe zfs failed"
[ -c /dev/zfs ] || die "no /dev/zfs after modprobe zfs"

say "platform:"
{
    echo "  kernel        $(uname -r)"
    echo "  PID 1         $(cat /proc/1/comm) ($(systemctl --version | head -n 1))"
    echo "  system state  $(systemctl is-system-running 2>/dev/null || true)"
    echo "  /sys/fs/cgroup $(stat -f -c %T /sys/fs/cgroup) (controllers: $(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null))"
    echo "  our cgroup    $(cat /proc/self/cgroup)"
    echo "  ZFS           $(zfs version 2>&1 | tr '\n' ' ')"
    echo "  CPUs, memory  $(nproc), $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo)"
    echo "  iocell        $IOCELL_BIN"
    echo "  repository    $REPO (a copy on $(findmnt -n -o FSTYPE -T "$REPO"))"
    echo "  /tmp          $(findmnt -n -o FSTYPE,OPTIONS -T /tmp)"
    echo "  shard         ${SHARD:-1/1}"
} | tee "$results/platform.txt"

# Wall-clock bounds in the tests are for a real CPU; emulation is several times slower.
export IOCELL_TEST_TIME_SCALE=${IOCELL_TEST_TIME_SCALE:-10}
# seconds per finished module, rewritten as the suite goes (for the next run's split)
export IOCELL_TEST_DURATIONS_OUT=$results/durations.txt
cd "$REPO"
say "starting the integration suite after $(cut -d' ' -f1 /proc/uptime) s of uptime"
start=$(date +%s)
# the least memory available during the suite (for sizing IOCELL_GUEST_MEM)
(
    low=
    while sleep 5; do
        a=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
        if [ -z "$low" ] || [ "$a" -lt "$low" ]; then low=$a; echo "$low" > /run/iocell-mem-low; fi
    done
) &
sampler=$!
set +e
bash scripts/integration.sh -p no:cacheprovider -v --junitxml="$results/junit.xml" \
    -o junit_suite_name=guest "${PYTEST_ARGS[@]}" 2>&1 | tee "$results/pytest.log"
rc=${PIPESTATUS[0]}
set -e
say "suite finished with status $rc in $(( $(date +%s) - start )) s"
echo "$(( $(date +%s) - start ))" > "$results/suite-seconds"
kill "$sampler" 2>/dev/null || true
say "memory: at least $(cat /run/iocell-mem-low 2>/dev/null || echo "?") MiB of $(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo) MiB available throughout"

# How the boot went (for trimming it): into the results, not onto the console.
{
    systemd-analyze time 2>&1 || true
    echo
    systemd-analyze critical-chain multi-user.target 2>&1 || true
    echo
    systemd-analyze blame 2>&1 | head -n 30 || true
} > "$results/boot.txt"
sync
exit "$rc"
