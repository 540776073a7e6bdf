#define IOC_LAZYLIB_IMPL
#define CURL_DISABLE_TYPECHECK
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>
#include <openssl/evp.h>
#include <seccomp.h>
#include <systemd/sd-bus.h>
#include <uuid/uuid.h>

#include "core/lazylib.h"
#include "core/util.h"

#include <dlfcn.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

static void lazy_fail(const char *lib, const char *what, const char *pkg) __attribute__((noreturn));
static void lazy_fail(const char *lib, const char *what, const char *pkg)
{
	fflush(stdout);
	fprintf(stderr, "iocell: cannot load %s: %s (hint: install the %s package)\n", lib, what,
		pkg);
	exit(1);
}

static void *lazy_open(const char *const *names, const char *pkg)
{
	const char *err = "not found";
	for (int i = 0; names[i]; i++) {
		void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
		if (h)
			return h;
		err = dlerror();
	}
	lazy_fail(names[0], err, pkg);
}

#define LAZY_SYM(f)                                                    \
	do {                                                           \
		*(void **)&t.f = dlsym(h, #f);                         \
		if (!t.f)                                              \
			lazy_fail(libname, "missing symbol " #f, pkg); \
	} while (0);

const struct lazy_archive *lazy_archive(void)
{
	static struct lazy_archive t;
	static int loaded;
	if (!loaded) {
		static const char *const names[] = {"libarchive.so.13", "libarchive.so", NULL};
		static const char libname[] = "libarchive", pkg[] = "libarchive13";
		/* libarchive converts path names to the locale's character set: only the
		 * commands that use it need the user's locale (validation stays ASCII). */
		setlocale(LC_CTYPE, "");
		void *h = lazy_open(names, pkg);
		LAZY_ARCHIVE_FUNCS(LAZY_SYM)
		loaded = 1;
	}
	return &t;
}

/* The loader of one library: fn() returns its table, filled at the first call. */
#define LAZY_LOADER(fn, libname_, pkg_, funcs, ...)                             \
	const struct fn *fn(void)                                               \
	{                                                                       \
		static struct fn t;                                             \
		static int loaded;                                              \
		if (!loaded) {                                                  \
			static const char *const names[] = {__VA_ARGS__, NULL}; \
			static const char libname[] = libname_, pkg[] = pkg_;   \
			void *h = lazy_open(names, pkg);                        \
			funcs(LAZY_SYM) loaded = 1;                             \
		}                                                               \
		return &t;                                                      \
	}

LAZY_LOADER(lazy_curl, "libcurl", "libcurl4", LAZY_CURL_FUNCS, "libcurl.so.4", "libcurl.so")
LAZY_LOADER(lazy_crypto, "libcrypto", "libssl3", LAZY_CRYPTO_FUNCS, "libcrypto.so.3",
	    "libcrypto.so")
LAZY_LOADER(lazy_mnl, "libmnl", "libmnl0", LAZY_MNL_FUNCS, "libmnl.so.0", "libmnl.so")
LAZY_LOADER(lazy_seccomp, "libseccomp", "libseccomp2", LAZY_SECCOMP_FUNCS, "libseccomp.so.2",
	    "libseccomp.so")
LAZY_LOADER(lazy_uuid, "libuuid", "libuuid1", LAZY_UUID_FUNCS, "libuuid.so.1", "libuuid.so")

const struct lazy_nft *lazy_nft_try(void)
{
	static struct lazy_nft t;
	static int loaded; /* 1 loaded, -1 failed */
	if (loaded == 0) {
		static const char *const names[] = {"libnftables.so.1", "libnftables.so", NULL};
		const char *err = "not found";
		void *h = NULL;
		for (int i = 0; names[i] && !h; i++)
			if (!(h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL)))
				err = dlerror();
#define LAZY_NFT_SYM(f)                              \
	if (h && !(*(void **)&t.f = dlsym(h, #f))) { \
		err = "a symbol is missing: " #f;    \
		h = NULL;                            \
	}
		LAZY_NFT_FUNCS(LAZY_NFT_SYM)
#undef LAZY_NFT_SYM
		loaded = h ? 1 : -1;
		if (!h) {
			ioc_err("cannot load libnftables (NAT needs it): %s", err);
			ioc_hint("install the libnftables1 package");
		}
	} else if (loaded < 0) {
		ioc_err("cannot load libnftables (NAT needs it)");
		ioc_hint("install the libnftables1 package");
	}
	return loaded > 0 ? &t : NULL;
}

LAZY_LOADER(lazy_sdbus, "libsystemd", "libsystemd0", LAZY_SDBUS_FUNCS, "libsystemd.so.0",
	    "libsystemd.so")
