/* Fuzz target: a jail's fstab, line by line (fstab_parse_line): "SRC DEST bind OPTIONS"
 * (ro, rw, dev, nodev; also "SRC DEST nullfs ro 0 0"), blank lines and comments. */
#include "fuzz.h"

#include "core/parse.h"

static void line_case(const char *line)
{
	char src[64], dst[64], err[256] = "";
	struct fstab_opts o = {true, true};
	int r = fstab_parse_line(line, src, sizeof(src), dst, sizeof(dst), &o, err, sizeof(err));
	FUZZ_CHECK(r >= -1 && r <= 1);
	if (r < 0)
		FUZZ_CHECK(err[0] != '\0');
	if (r == 1) {
		FUZZ_CHECK(src[0] == '/' && dst[0] == '/');
		FUZZ_CHECK(!strpbrk(src, " \t\n") && !strpbrk(dst, " \t\n"));
		/* device nodes only when the line says "dev" (the last of dev/nodev wins) */
		const char *dev = strstr(line, "dev");
		FUZZ_CHECK(!o.dev || dev);
	} else {
		FUZZ_CHECK(o.ro && o.dev); /* untouched */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	/* fstab_each's walk: the file split into lines */
	struct strv lines;
	sv_init(&lines);
	split(&lines, text, "\n", true);
	for (size_t i = 0; i < lines.n; i++)
		line_case(lines.v[i]);
	sv_free(&lines);
	ioc_err_clear();
	free(text);
	return 0;
}
