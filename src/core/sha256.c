/* Streaming SHA-256 on top of OpenSSL's EVP interface. */
#include "core/sha256.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include "core/lazylib.h" /* after the library headers */
#include <string.h>
#include <strings.h>
#include <unistd.h>

int sha256_init(struct sha256 *h)
{
	h->md = NULL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c) {
		ioc_err("cannot start a SHA-256 digest: out of memory");
		return -1;
	}
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		ioc_err("cannot start a SHA-256 digest: OpenSSL refused");
		return -1;
	}
	h->md = c;
	return 0;
}

int sha256_update(struct sha256 *h, const void *buf, size_t n)
{
	if (!h->md) {
		ioc_err("SHA-256 digest used before sha256_init");
		return -1;
	}
	if (n && EVP_DigestUpdate((EVP_MD_CTX *)h->md, buf, n) != 1) {
		ioc_err("SHA-256 digest update failed");
		return -1;
	}
	return 0;
}

int sha256_final_hex(struct sha256 *h, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	hex[0] = '\0';
	if (!h->md) {
		ioc_err("SHA-256 digest finished before sha256_init");
		return -1;
	}
	int ok = EVP_DigestFinal_ex((EVP_MD_CTX *)h->md, d, &n);
	sha256_free(h);
	if (ok != 1 || n != SHA256_HEX_LEN / 2) {
		ioc_err("SHA-256 digest failed");
		return -1;
	}
	static const char digits[] = "0123456789abcdef";
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[2 * n] = '\0';
	return 0;
}

void sha256_free(struct sha256 *h)
{
	if (h && h->md) {
		EVP_MD_CTX_free((EVP_MD_CTX *)h->md);
		h->md = NULL;
	}
}

int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1])
{
	hex[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ioc_err("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct sha256 h;
	if (sha256_init(&h) < 0) {
		close(fd);
		return -1;
	}
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* only a hint: more read-ahead */
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf, cap);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			ioc_err("cannot read %s: %s", path, strerror(errno));
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		if (sha256_update(&h, buf, (size_t)r) < 0) {
			rc = -1;
			break;
		}
	}
	free(buf);
	close(fd);
	if (rc == 0)
		return sha256_final_hex(&h, hex);
	sha256_free(&h);
	return -1;
}

int sha256_buf(const void *buf, size_t n, char hex[SHA256_HEX_LEN + 1])
{
	struct sha256 h;
	hex[0] = '\0';
	if (sha256_init(&h) < 0)
		return -1;
	if (sha256_update(&h, buf, n) < 0) {
		sha256_free(&h);
		return -1;
	}
	return sha256_final_hex(&h, hex);
}

static bool hexrun(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

bool sha256_valid_hex(const char *s)
{
	return s && strlen(s) == SHA256_HEX_LEN && hexrun(s, SHA256_HEX_LEN);
}

bool sha256_equal(const char *a, const char *b)
{
	return sha256_valid_hex(a) && sha256_valid_hex(b) && strcasecmp(a, b) == 0;
}

static void copy_lower(char out[SHA256_HEX_LEN + 1], const char *s)
{
	for (size_t i = 0; i < SHA256_HEX_LEN; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[SHA256_HEX_LEN] = '\0';
}

bool sha256_lookup(const char *text, const char *name, bool any_single,
		   char hex[SHA256_HEX_LEN + 1])
{
	struct strv lines = {0};
	split(&lines, text ? text : "", "\n", true);
	bool found = false;
	size_t digests = 0;
	const char *single = NULL;
	for (size_t i = 0; i < lines.n && !found; i++) {
		char *l = lines.v[i];
		size_t n = strlen(l);
		if (n && l[n - 1] == '\r')
			l[--n] = '\0';
		while (*l == ' ' || *l == '\t')
			l++;
		if (strlen(l) < SHA256_HEX_LEN || !hexrun(l, SHA256_HEX_LEN))
			continue;
		const char *rest = l + SHA256_HEX_LEN;
		if (*rest && *rest != ' ' && *rest != '\t')
			continue; /* a longer hex string: not a SHA-256 line */
		digests++;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		if (!*rest) {
			single = l;
			continue;
		}
		if (*rest == '*')
			rest++;
		if (startswith(rest, "./"))
			rest += 2;
		if (name && streq(rest, name)) {
			copy_lower(hex, l);
			found = true;
		} else if (!single) {
			single = l;
		}
	}
	if (!found && any_single && digests == 1 && single) {
		copy_lower(hex, single);
		found = true;
	}
	sv_free(&lines);
	return found;
}
