/*
 * The device allow-list of a jail's cgroup (see devices.h).  Device nodes the jail
 * finds in its own files are already useless (its root and fstab binds are nodev); the
 * allow-list is the second wall: even on a mount where nodes work (the /dev tmpfs iocell
 * makes, an fstab entry with "dev"), only the listed devices open.
 */
#include "linux/devices.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

const struct devrule dev_default_rules[] = {
	{'c', 1, 1, 3},     /* null */
	{'c', 1, 1, 5},     /* zero */
	{'c', 1, 1, 7},     /* full */
	{'c', 1, 1, 8},     /* random */
	{'c', 1, 1, 9},     /* urandom */
	{'c', 5, 5, 0},     /* tty (the process's own terminal) */
	{'c', 5, 5, 2},     /* ptmx */
	{'c', 136, 143, -1} /* the pseudo-terminals (/dev/pts/N) */
};
const size_t dev_default_nrules = sizeof(dev_default_rules) / sizeof(dev_default_rules[0]);

/* ---- cgroup v2: the BPF program ------------------------------------------------------------ */

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})

/* ctx (r1): struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }, the
 * device type (BPF_DEVCG_DEV_*) in access_type's low 16 bits. */
size_t dev_bpf_build(const struct devrule *rules, size_t n, struct bpf_insn *out, size_t max)
{
	size_t k = 0;
#define EMIT(x)                   \
	do {                      \
		if (k >= max)     \
			return 0; \
		out[k++] = (x);   \
	} while (0)
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0));
	EMIT(INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff));
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 4, 0));
	EMIT(INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 8, 0));
	for (size_t i = 0; i < n; i++) {
		const struct devrule *r = &rules[i];
		bool range = r->major_lo != r->major_hi;
		/* tests, each jumping past this rule's "allow" when it fails */
		int ntests = 1 + (range ? 2 : 1) + (r->minor >= 0 ? 1 : 0);
		int left = ntests + 2; /* instructions of this rule still to come */
		int type = r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
		EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, (short)(--left), type));
		if (range) {
			EMIT(INSN(BPF_JMP | BPF_JLT | BPF_K, BPF_REG_3, 0, (short)(--left),
				  (int)r->major_lo));
			EMIT(INSN(BPF_JMP | BPF_JGT | BPF_K, BPF_REG_3, 0, (short)(--left),
				  (int)r->major_hi));
		} else {
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, (short)(--left),
				  (int)r->major_lo));
		}
		if (r->minor >= 0)
			EMIT(INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, (short)(--left),
				  r->minor));
		EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1));
		EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	}
	EMIT(INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));
	EMIT(INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
#undef EMIT
	return k;
}

int dev_bpf_eval(const struct bpf_insn *prog, size_t n, unsigned access_type, unsigned major,
		 unsigned minor)
{
	uint32_t ctx[3] = {access_type, major, minor};
	uint64_t r[11] = {0};
	for (size_t pc = 0; pc < n; pc++) {
		const struct bpf_insn *in = &prog[pc];
		uint64_t imm = (uint64_t)(uint32_t)in->imm;
		switch (in->code) {
		case BPF_LDX | BPF_MEM | BPF_W:
			if (in->src_reg != BPF_REG_1 || in->off < 0 || in->off > 8 || in->off % 4)
				return -1;
			r[in->dst_reg] = ctx[in->off / 4];
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			r[in->dst_reg] = (uint32_t)(r[in->dst_reg] & imm);
			break;
		case BPF_ALU64 | BPF_MOV | BPF_K:
			r[in->dst_reg] = (uint64_t)(int64_t)in->imm;
			break;
		case BPF_JMP | BPF_JNE | BPF_K:
			if (r[in->dst_reg] != imm)
				pc += (size_t)in->off;
			break;
		case BPF_JMP | BPF_JLT | BPF_K:
			if (r[in->dst_reg] < imm)
				pc += (size_t)in->off;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			if (r[in->dst_reg] > imm)
				pc += (size_t)in->off;
			break;
		case BPF_JMP | BPF_EXIT: return r[0] ? 1 : 0;
		default: return -1;
		}
	}
	return -1; /* fell off the end */
}

static long bpf_call(int cmd, union bpf_attr *a) { return syscall(SYS_bpf, cmd, a, sizeof(*a)); }

int dev_bpf_attach(const char *dir, const struct devrule *rules, size_t n)
{
	struct bpf_insn prog[512];
	size_t len = dev_bpf_build(rules, n, prog, sizeof(prog) / sizeof(prog[0]));
	if (!len) {
		ioc_err("cannot build the device program of %s: too many devices (%zu)", dir, n);
		return -1;
	}
	/* loaded without a log; a refused program is loaded again for the verifier's say */
	static char log[4096];
	union bpf_attr a;
	int pfd = -1;
	for (int verbose = 0; pfd < 0 && verbose < 2; verbose++) {
		memset(&a, 0, sizeof(a));
		a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
		a.insn_cnt = (uint32_t)len;
		a.insns = (uint64_t)(uintptr_t)prog;
		a.license = (uint64_t)(uintptr_t) "GPL";
		if (verbose) {
			log[0] = '\0';
			a.log_buf = (uint64_t)(uintptr_t)log;
			a.log_size = sizeof(log);
			a.log_level = 1;
		}
		pfd = (int)bpf_call(BPF_PROG_LOAD, &a);
		if (pfd < 0 && (errno == EPERM || errno == ENOSYS))
			break;
	}
	_cleanup_close_ int progfd = pfd;
	if (progfd < 0) {
		int e = errno;
		ioc_err("cannot load the device program of %s: %s%s%.300s", dir, strerror(e),
			*log ? ": " : "", log);
		return -1;
	}
	_cleanup_close_ int cfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cfd < 0) {
		ioc_err("cannot open cgroup %s: %s", dir, strerror(errno));
		return -1;
	}
	memset(&a, 0, sizeof(a));
	a.target_fd = (uint32_t)cfd;
	a.attach_bpf_fd = (uint32_t)progfd;
	a.attach_type = BPF_CGROUP_DEVICE;
	if (bpf_call(BPF_PROG_ATTACH, &a) < 0) {
		ioc_err("cannot attach the device program to cgroup %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0; /* the cgroup holds the program from now on */
}

/* ---- cgroup v1: the devices controller ------------------------------------------------------- */

static int v1_apply(const char *dir, const struct devrule *rules, size_t n)
{
	_cleanup_free_ char *deny = xasprintf("%s/devices.deny", dir);
	_cleanup_free_ char *allow = xasprintf("%s/devices.allow", dir);
	if (cg_put(deny, "a") < 0) {
		ioc_err("cannot write \"a\" to %s: %s", deny, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		for (unsigned m = rules[i].major_lo; m <= rules[i].major_hi; m++) {
			char line[64], minor[16] = "*";
			if (rules[i].minor >= 0)
				snprintf(minor, sizeof(minor), "%d", rules[i].minor);
			snprintf(line, sizeof(line), "%c %u:%s rwm", rules[i].type, m, minor);
			if (cg_put(allow, line) < 0) {
				ioc_err("cannot write \"%s\" to %s: %s", line, allow,
					strerror(errno));
				return -1;
			}
		}
	return 0;
}

int dev_cg_apply(const struct cgroup *cg, const struct devrule *extra, size_t nextra)
{
	size_t n = dev_default_nrules + nextra;
	_cleanup_free_ struct devrule *all = xcalloc(n, sizeof(*all));
	memcpy(all, dev_default_rules, sizeof(dev_default_rules));
	if (nextra)
		memcpy(all + dev_default_nrules, extra, nextra * sizeof(*extra));
	if (cg->mode == CG_V2)
		return cg->n ? dev_bpf_attach(cg->dirs[0], all, n) : 0;
	const char *dir = cg_controller_dir(cg, "devices");
	return dir ? v1_apply(dir, all, n) : 0;
}
