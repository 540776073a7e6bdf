/* Package and image files and their checksums: see artifact.h. */
#include "core/artifact.h"
#include "core/pool.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *path_base(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

char *artifact_sha_path(const char *file)
{
	const char *dot = path_base(file);
	const char *ext = strstr(dot, ".tar.xz");
	if (!ext)
		ext = strrchr(dot, '.');
	size_t n = ext ? (size_t)(ext - file) : strlen(file);
	return xasprintf("%.*s.sha256", (int)n, file);
}

int artifact_write_sha(const char *file, const char *hex)
{
	_cleanup_free_ char *sp = artifact_sha_path(file);
	_cleanup_free_ char *text = xasprintf("%s  %s\n", hex, path_base(file));
	return write_file_atomic(sp, text, strlen(text), 0644);
}

char *artifact_sha_partial(const char *file)
{
	_cleanup_free_ char *sp = artifact_sha_path(file);
	const char *base = path_base(sp);
	return xasprintf("%.*s.%s.partial", (int)(base - sp), sp, base);
}

int artifact_publish(const char *tmp, const char *file, const char *hex)
{
	/* Both files of the pair appear as complete files (the checksum written beside the
	 * partial file first, then both renamed, the file first): an interruption leaves
	 * partial names only, or the two renames to finish (heal.c does). */
	_cleanup_free_ char *sp = artifact_sha_path(file);
	_cleanup_free_ char *spart = artifact_sha_partial(file);
	_cleanup_free_ char *text = xasprintf("%s  %s\n", hex, path_base(file));
	if (write_file_atomic(spart, text, strlen(text), 0644) < 0)
		return -1;
	if (rename(tmp, file) < 0) {
		ioc_err("cannot rename %s to %s: %s", tmp, file, strerror(errno));
		unlink(spart);
		return -1;
	}
	if (rename(spart, sp) < 0) {
		ioc_err("cannot rename %s to %s: %s", spart, sp, strerror(errno));
		unlink(file);
		unlink(spart);
		return -1;
	}
	return 0;
}

int artifact_verify(const char *file)
{
	_cleanup_free_ char *sp = artifact_sha_path(file);
	_cleanup_free_ char *text = read_file(sp, NULL);
	char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
	if (!text) {
		ioc_err("cannot verify %s: no checksum file %s", file, sp);
		ioc_hint("a package or image comes with its .sha256 file; copy it alongside");
		return -1;
	}
	if (!sha256_lookup(text, path_base(file), true, want)) {
		ioc_err("cannot verify %s: %s holds no SHA-256 for %s", file, sp, path_base(file));
		return -1;
	}
	if (sha256_file(file, got) < 0)
		return -1;
	if (!sha256_equal(got, want)) {
		ioc_err("checksum mismatch for %s: expected %s, got %s", file, want, got);
		ioc_hint("the file is corrupt or was altered; nothing was created");
		return -1;
	}
	return 0;
}

static void scan_dir(const char *dir, const char *name, const char *ext, struct strv *hits)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !startswith(de->d_name, name) ||
		    !endswith(de->d_name, ext))
			continue;
		sv_addf(hits, "%s/%s", dir, de->d_name);
	}
	closedir(d);
}

int artifact_find(const char *name, enum artifact_kind *kind, char **path)
{
	*path = NULL;
	if (!*name || strchr(name, '/')) {
		ioc_err("invalid package or image name '%s'", name);
		return -1;
	}
	_cleanup_free_ char *pk = path_in_root("packages");
	_cleanup_free_ char *im = path_in_root("images");
	_cleanup_strv_ struct strv pkgs = {0}, imgs = {0};
	sv_init(&pkgs);
	sv_init(&imgs);
	scan_dir(pk, name, ".tar.xz", &pkgs);
	scan_dir(im, name, ".zfs", &imgs);
	size_t n = pkgs.n + imgs.n;
	if (n == 0) {
		ioc_err("no package or image named %s* in %s or %s", name, pk, im);
		ioc_hint("make one with 'iocell package NAME' or 'iocell export NAME'");
		return -1;
	}
	if (n == 1) {
		*kind = pkgs.n ? AK_PACKAGE : AK_IMAGE;
		*path = xstrdup(pkgs.n ? pkgs.v[0] : imgs.v[0]);
		return 0;
	}
	/* An exact name wins over longer ones. */
	_cleanup_free_ char *exact_p = xasprintf("%s/%s.tar.xz", pk, name);
	_cleanup_free_ char *exact_i = xasprintf("%s/%s.zfs", im, name);
	bool ep = sv_contains(&pkgs, exact_p), ei = sv_contains(&imgs, exact_i);
	if (ep != ei) {
		*kind = ep ? AK_PACKAGE : AK_IMAGE;
		*path = xstrdup(ep ? exact_p : exact_i);
		return 0;
	}
	_cleanup_sbuf_ struct sbuf b;
	sb_init(&b);
	for (size_t i = 0; i < pkgs.n; i++)
		sb_printf(&b, "%s%s", b.len ? ", " : "", path_base(pkgs.v[i]));
	for (size_t i = 0; i < imgs.n; i++)
		sb_printf(&b, "%s%s", b.len ? ", " : "", path_base(imgs.v[i]));
	ioc_err("'%s' is ambiguous: %s", name, b.s);
	ioc_hint("give more of the name");
	return -1;
}
