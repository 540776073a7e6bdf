/* Small pure parsers and validators (no I/O): unit-tested with cmocka. */
#ifndef IOC_PARSE_H
#define IOC_PARSE_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* "4G", "512M", "1.5G", "100" (bytes).  K/M/G/T/P/E are powers of 1024 (as zfs and
 * fmt_size write them); an optional trailing "B" or "iB" is accepted.  Returns false for
 * anything else, and for sizes beyond 64 bits (16E). */
bool parse_size(const char *s, uint64_t *out);
/* Decimal integer in [min, max]. */
bool parse_int(const char *s, long long min, long long max, long long *out);
/* Format bytes the way zfs does (1.50G, 512M, 12K). */
void fmt_size(uint64_t bytes, char *buf, size_t n);

bool valid_uuid(const char *s);
/* Length of a leading "YYYY-MM-DD@HH:MM:SS" (the default tag shape), else 0. */
size_t date_tag_len(const char *s);
/* Split "NAME@SNAP" (a default-shaped tag keeps its own '@').  Returns true when a
 * snapshot part was present; *name and *snap are malloc'd (*snap NULL when absent). */
bool split_name_snap(const char *arg, char **name, char **snap);
/* Tag: [A-Za-z0-9][A-Za-z0-9._-]*, not ALL/default, not UUID-shaped, <= 128 chars. */
bool valid_tag(const char *s, const char **why);
/* RFC 1123 hostname (labels of [A-Za-z0-9-], not starting/ending with '-', <= 253). */
bool valid_hostname(const char *s);
/* A release / snapshot / dataset component name: [A-Za-z0-9][A-Za-z0-9._:-]*. */
bool valid_component(const char *s);
/* Linux interface name: 1..15 chars, no '/', ':', whitespace or '|' or ','. */
bool valid_ifname(const char *s);

bool parse_ipv4(const char *s, uint8_t out[4]);
bool parse_ipv6(const char *s, uint8_t out[16]);
/* One "IFACE|ADDR[/PREFIX]" entry for family 4 or 6. */
struct ipaddr_entry {
	char iface[16];
	char addr[64];
	int prefix; /* -1 when omitted */
	int family; /* 4 or 6 */
};
/* Parse "IFACE|ADDR/PREFIX[,...]" (or "none": n=0).  err gets a reason on failure. */
bool parse_ip_list(const char *s, int family, struct ipaddr_entry *out, size_t max, size_t *n,
		   char *err, size_t errlen);

/* "nic:bridge[,nic:bridge]" up to max entries. */
struct iface_entry {
	char nic[16];
	char bridge[16];
};
bool parse_interfaces(const char *s, struct iface_entry *out, size_t max, size_t *n, char *err,
		      size_t errlen);

/* "aa:bb:cc:dd:ee:ff" */
bool parse_mac(const char *s, uint8_t out[6]);

/* CPU list "0-1,3"; sets bits in mask (up to 1024 CPUs); highest CPU in *maxcpu. */
bool parse_cpulist(const char *s, uint64_t mask[16], int *maxcpu);

/* "AMOUNT:ACTION" for a resource limit. */
enum limit_unit { LU_BYTES, LU_COUNT, LU_PERCENT, LU_SECONDS };
enum limit_action { LA_DENY = 1, LA_LOG = 2, LA_SIGNAL = 4 };
struct limit_val {
	uint64_t amount;
	int action; /* LA_* */
	int signo;  /* for LA_SIGNAL */
};
bool parse_limit(const char *s, enum limit_unit unit, int allowed_actions, struct limit_val *out,
		 char *err, size_t errlen);
/* Seconds with optional unit suffix s/m/h/d (false beyond 64 bits). */
bool parse_seconds(const char *s, uint64_t *out);

/* nat_forwards: "PROTO(JAILPORT[:HOSTPORT])[,...]" (iocage's form, e.g.
 * "tcp(80:8080),udp(53:53),tcp(443)"; the host port is the jail port when omitted), or
 * "none".  PROTO is tcp or udp; ports 1-65535; a host port forwarded twice for one
 * protocol is an error. */
#define NAT_MAX_FORWARDS 64
struct nat_forward {
	int proto; /* 6 tcp, 17 udp */
	uint16_t jail_port, host_port;
};
bool parse_forwards(const char *s, struct nat_forward *out, size_t max, size_t *n, char *err,
		    size_t errlen);
/* "tcp" or "udp" for a protocol number of struct nat_forward. */
const char *forward_proto_name(int proto);

/* nat_prefix: "V4NET/LEN[,V6NET/LEN]" in either order, at most one of each family (IPv4
 * /8 to /30, IPv6 /64 to /120), host bits zero. */
struct nat_prefix {
	bool has4, has6;
	uint8_t net4[4], net6[16];
	int len4, len6;
};
bool parse_nat_prefix(const char *s, struct nat_prefix *out, char *err, size_t errlen);
/* Is addr (4 or 16 bytes by family) inside the prefix's network of that family? */
bool nat_prefix_contains(const struct nat_prefix *p, int family, const uint8_t *addr);
/* Host number idx (1 = the gateway, 2... = the jails) of the prefix's family, false when
 * it is not a usable host address (network, broadcast, out of range). */
bool nat_prefix_host(const struct nat_prefix *p, int family, uint64_t idx, uint8_t *out);
/* nat_addr: "none", or "V4", "V6", "V4,V6" (one of each family at most). */
bool parse_nat_addr(const char *s, bool *has4, uint8_t a4[4], bool *has6, uint8_t a6[16]);

/* depends: "none" or NAME[,NAME...] (tags or UUIDs, at most max), no name twice. */
bool parse_name_list(const char *s, char (*out)[130], size_t max, size_t *n, char *err,
		     size_t errlen);

/* The options of an fstab entry: "ro" or "rw" (the default), "nodev" (the default:
 * device nodes in the mount do not work) or "dev" (they do, and iocell adds them to the
 * jail's device allow-list: jailfs_fstab_devices). */
struct fstab_opts {
	bool ro, dev;
};
/* Parse one fstab line "SRC DEST bind OPTIONS" (also "SRC DEST nullfs ro 0 0"), OPTIONS
 * a comma-separated list of ro, rw, dev, nodev; returns 1 with fields filled, 0 for
 * blank/comment, -1 with err for a bad line. */
int fstab_parse_line(const char *line, char *src, size_t srclen, char *dst, size_t dstlen,
		     struct fstab_opts *opts, char *err, size_t errlen);

#endif
