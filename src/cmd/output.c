/* Table output of the command layer: aligned, tab-separated (-H), CSV, or JSON (-j). */
#include "cmd/cmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- cells ----------------------------------------------------------------------------- */

char *json_quote(const char *s)
{
	struct sbuf b;
	sb_init(&b);
	sb_addc(&b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			sb_printf(&b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			sb_printf(&b, "\\u%04x", c);
		else
			sb_addc(&b, (char)c);
	}
	sb_addc(&b, '"');
	return sb_steal(&b);
}

char *json_key(const char *col)
{
	char *k = xstrdup(col);
	for (char *p = k; *p; p++)
		*p = *p == ' ' ? '_' : (char)tolower((unsigned char)*p);
	return k;
}

/* An integer written as digits (optionally signed), nothing else. */
static bool is_int(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* A decimal number (digits, one '.', optional sign), ratios "1.25x" too: its JSON form
 * in out, or false. */
static bool as_number(const char *s, char *out, size_t n)
{
	size_t len = strlen(s);
	if (len && s[len - 1] == 'x')
		len--;
	size_t i = s[0] == '-' ? 1 : 0, digits = 0, dots = 0;
	for (; i < len; i++) {
		if (isdigit((unsigned char)s[i]))
			digits++;
		else if (s[i] == '.' && !dots)
			dots++;
		else
			return false;
	}
	if (!digits || len >= n || s[len - (len > 0)] == '.' || s[s[0] == '-'] == '.')
		return false;
	snprintf(out, n, "%.*s", (int)len, s);
	/* JSON has no leading zeros: 007 -> 7 */
	if (!dots && is_int(out)) {
		long long v = strtoll(out, NULL, 10);
		snprintf(out, n, "%lld", v);
	}
	return true;
}

char *json_cell(char k, const char *s)
{
	if (!s)
		return xstrdup("null");
	char num[64];
	switch (k) {
	case 'i':
	case 'b': return is_int(s) ? xasprintf("%lld", strtoll(s, NULL, 10)) : xstrdup("null");
	case 'n': return as_number(s, num, sizeof(num)) ? xstrdup(num) : xstrdup("null");
	case 'v': return is_int(s) ? xasprintf("%lld", strtoll(s, NULL, 10)) : json_quote(s);
	default: return json_quote(s);
	}
}

/* What a cell shows (malloc'd). */
static char *shown(char k, const char *s)
{
	if (!s)
		return xstrdup("-");
	if (k == 'b' && is_int(s) && s[0] != '-') {
		char b[32];
		fmt_size(strtoull(s, NULL, 10), b, sizeof(b));
		return xstrdup(b);
	}
	return xstrdup(s);
}

/* ---- the table ------------------------------------------------------------------------- */

void table_init(struct table *t, const char *const *head, const char *kinds)
{
	sv_init(&t->head);
	sv_init(&t->cells);
	sv_init(&t->json);
	t->ncols = 0;
	for (; head[t->ncols]; t->ncols++)
		sv_add(&t->head, head[t->ncols]);
	t->kinds = xcalloc(t->ncols + 1, 1);
	for (size_t c = 0; c < t->ncols; c++)
		t->kinds[c] = kinds && c < strlen(kinds) ? kinds[c] : 't';
}

void table_add_json(struct table *t, const char *const *row, const char *const *json)
{
	for (size_t i = 0; i < t->ncols; i++) {
		sv_take(&t->cells, shown(t->kinds[i], row[i]));
		if (json && json[i])
			sv_add(&t->json, json[i]);
		else
			sv_take(&t->json, json_cell(t->kinds[i], row[i]));
	}
}

void table_add(struct table *t, const char *const *row) { table_add_json(t, row, NULL); }

static size_t nrows_of(const struct table *t) { return t->ncols ? t->cells.n / t->ncols : 0; }

static void print_aligned(const struct table *t)
{
	size_t nrows = nrows_of(t);
	_cleanup_free_ size_t *w = xcalloc(t->ncols, sizeof(size_t));
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = strlen(t->head.v[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells.v[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t r = 0; r <= nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = r ? t->cells.v[(r - 1) * t->ncols + c] : t->head.v[c];
			bool last = c + 1 == t->ncols;
			printf("%-*s%s", last ? 0 : (int)w[c], s, last ? "\n" : "  ");
		}
}

/* A CSV field: quoted when it holds a comma, a quote or a blank at an end. */
static void csv_field(const char *s)
{
	size_t n = strlen(s);
	if (!strpbrk(s, ",\"\n") && !(n && (s[0] == ' ' || s[n - 1] == ' '))) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_separated(const struct table *t, char sep)
{
	size_t nrows = nrows_of(t);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells.v[r * t->ncols + c];
			if (sep == ',')
				csv_field(s);
			else
				fputs(s, stdout);
			putchar(c + 1 == t->ncols ? '\n' : sep);
		}
}

static void print_json(const struct table *t)
{
	size_t nrows = nrows_of(t);
	printf("[");
	for (size_t r = 0; r < nrows; r++) {
		printf("%s\n  {", r ? "," : "");
		for (size_t c = 0; c < t->ncols; c++) {
			_cleanup_free_ char *k = json_key(t->head.v[c]);
			_cleanup_free_ char *qk = json_quote(k);
			printf("%s%s: %s", c ? ", " : "", qk, t->json.v[r * t->ncols + c]);
		}
		printf("}");
	}
	printf("%s]\n", nrows ? "\n" : "");
}

void table_free(struct table *t)
{
	sv_free(&t->head);
	sv_free(&t->cells);
	sv_free(&t->json);
	free(t->kinds);
	t->kinds = NULL;
}

int table_col(const struct table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols; c++)
		if (strcasecmp(t->head.v[c], name) == 0)
			return (int)c;
	return -1;
}

struct sort_by {
	const struct table *t;
	size_t col;
};

static int row_cmp(const void *a, const void *b, void *arg)
{
	const struct sort_by *s = arg;
	size_t ra = *(const size_t *)a, rb = *(const size_t *)b;
	size_t ia = ra * s->t->ncols + s->col, ib = rb * s->t->ncols + s->col;
	/* numbers by value: the JSON literals of a number column, else the cells */
	char k = s->t->kinds[s->col];
	bool num = k == 'i' || k == 'n' || k == 'b' || k == 'v';
	const char *x = num ? s->t->json.v[ia] : s->t->cells.v[ia];
	const char *y = num ? s->t->json.v[ib] : s->t->cells.v[ib];
	char *ex, *ey;
	double nx = strtod(x, &ex), ny = strtod(y, &ey);
	bool okx = *x && !*ex && x[0] != '"', oky = *y && !*ey && y[0] != '"';
	int c;
	if (okx && oky)
		c = nx < ny ? -1 : nx > ny;
	else if (okx != oky)
		c = okx ? -1 : 1; /* numbers before null / text */
	else
		c = strcmp(s->t->cells.v[ia], s->t->cells.v[ib]);
	return c ? c : (ra < rb ? -1 : 1);
}

void table_sort(struct table *t, int col)
{
	if (col < 0 || !t->ncols)
		return;
	size_t nrows = nrows_of(t);
	_cleanup_free_ size_t *idx = xcalloc(nrows + 1, sizeof(size_t));
	for (size_t r = 0; r < nrows; r++)
		idx[r] = r;
	struct sort_by by = {t, (size_t)col};
	qsort_r(idx, nrows, sizeof(size_t), row_cmp, &by);
	struct strv *lists[] = {&t->cells, &t->json};
	for (size_t l = 0; l < 2; l++) {
		_cleanup_free_ char **nc = xcalloc(lists[l]->n + 1, sizeof(char *));
		for (size_t r = 0; r < nrows; r++)
			for (size_t c = 0; c < t->ncols; c++)
				nc[r * t->ncols + c] = lists[l]->v[idx[r] * t->ncols + c];
		memcpy(lists[l]->v, nc, lists[l]->n * sizeof(char *));
	}
}

int table_emit(struct table *t, enum outfmt fmt, const char *sortcol, const char *defcol,
	       const char *cmd)
{
	if (sortcol) {
		int c = table_col(t, sortcol);
		if (c < 0)
			return usage_err(cmd, "no column '%s' to sort by", sortcol);
		table_sort(t, c);
	} else if (defcol) {
		table_sort(t, table_col(t, defcol));
	}
	switch (fmt) {
	case OUT_JSON: print_json(t); break;
	case OUT_SCRIPT: print_separated(t, '\t'); break;
	case OUT_CSV: print_separated(t, ','); break;
	default: print_aligned(t); break;
	}
	return CMD_OK;
}

/* ---- options --------------------------------------------------------------------------- */

bool outfmt_opt(int c, enum outfmt *fmt, int *nset)
{
	switch (c) {
	case 'H': *fmt = OUT_SCRIPT; break;
	case 'j': *fmt = OUT_JSON; break;
	case 'c': *fmt = OUT_CSV; break;
	default: return false;
	}
	*nset |= 1 << *fmt; /* the same option twice is fine */
	return true;
}

int outfmt_check(const char *cmd, int nset)
{
	if (nset & (nset - 1))
		return usage_err(cmd, "-H, -j%s exclude each other",
				 streq(cmd, "inuse") ? " and -c" : "");
	return -1;
}
