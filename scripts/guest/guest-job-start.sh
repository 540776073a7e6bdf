#!/bin/bash
# /usr/local/sbin/iocell-guest-job in the guest (iocell-guest-job.service): mount the host's
# job share (9p tag iocell-job) on /run/iocell-job, run its job.sh, write job.sh's exit
# status to /run/iocell-job/status. The unit powers the guest off when this returns.
set -u
job=/run/iocell-job
mkdir -p "$job"
modprobe -q 9pnet_virtio 2>/dev/null
modprobe -q 9p 2>/dev/null
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 iocell-job "$job"; then
    echo "iocell-guest-job: error: cannot mount the 9p share iocell-job on $job" >&2
    exit 1
fi
echo "iocell-guest-job: systemd is up after $(cut -d' ' -f1 /proc/uptime) s; running job.sh"
rc=0
bash "$job/job.sh" || rc=$?
echo "$rc" > "$job/status"
sync
umount "$job" || true
exit 0
