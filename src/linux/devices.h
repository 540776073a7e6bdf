/*
 * The device allow-list of a jail's cgroup (devices.c): which device nodes its processes
 * may open (or mknod) at all, whatever node they find.  The devices controller's
 * devices.allow/devices.deny on cgroup v1; a BPF_PROG_TYPE_CGROUP_DEVICE program
 * attached to the jail's cgroup on cgroup v2.
 */
#ifndef IOC_LINUX_DEVICES_H
#define IOC_LINUX_DEVICES_H

#include "linux/cgroup.h"

#include <linux/bpf.h>
#include <stddef.h>

/* Character ('c') or block ('b') devices with a major in [major_lo, major_hi] and the
 * given minor (-1: any).  Every access (read, write, mknod) is allowed. */
struct devrule {
	char type;
	unsigned major_lo, major_hi;
	int minor;
};

/* What every jail gets: null zero full random urandom tty ptmx, and the pseudo-terminals
 * of its devpts instance (majors 136-143, the console is one of them or /dev/null). */
extern const struct devrule dev_default_rules[];
extern const size_t dev_default_nrules;

/* The BPF program allowing exactly rules[0..n) (and nothing else) into out (max
 * instructions); its length, 0 when it does not fit. */
size_t dev_bpf_build(const struct devrule *rules, size_t n, struct bpf_insn *out, size_t max);
/* Run such a program on a device access (the kernel's struct bpf_cgroup_dev_ctx) in a
 * small interpreter of the instructions dev_bpf_build emits: 1 allow, 0 deny, -1 an
 * instruction it does not know (for the unit tests). */
int dev_bpf_eval(const struct bpf_insn *prog, size_t n, unsigned access_type, unsigned major,
		 unsigned minor);
/* Attach the program for rules to the cgroup v2 directory dir.  -1 with the error. */
int dev_bpf_attach(const char *dir, const struct devrule *rules, size_t n);

/* The jail's cgroup allows only the default devices and extra[0..nextra) (v1: its
 * devices hierarchy, none: nothing to do; v2: the BPF program).  -1 with the error. */
int dev_cg_apply(const struct cgroup *cg, const struct devrule *extra, size_t nextra);

#endif
