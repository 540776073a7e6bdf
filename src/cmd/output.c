/* Table output of the command layer: aligned, tab-separated (-H) or JSON (-j). */
#include "cmd/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void table_init(struct table *t, const char *const *head)
{
	sv_init(&t->head);
	sv_init(&t->cells);
	t->ncols = 0;
	for (; head[t->ncols]; t->ncols++)
		sv_add(&t->head, head[t->ncols]);
}

void table_add(struct table *t, const char *const *row)
{
	for (size_t i = 0; i < t->ncols; i++)
		sv_add(&t->cells, row[i] ? row[i] : "-");
}

void table_print(struct table *t, bool script)
{
	size_t nrows = t->ncols ? t->cells.n / t->ncols : 0;
	if (script) {
		for (size_t r = 0; r < nrows; r++)
			for (size_t c = 0; c < t->ncols; c++)
				printf("%s%c", t->cells.v[r * t->ncols + c],
				       c + 1 == t->ncols ? '\n' : '\t');
		return;
	}
	_cleanup_free_ size_t *w = xcalloc(t->ncols, sizeof(size_t));
	for (size_t c = 0; c < t->ncols; c++)
		w[c] = strlen(t->head.v[c]);
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t l = strlen(t->cells.v[r * t->ncols + c]);
			if (l > w[c])
				w[c] = l;
		}
	for (size_t c = 0; c < t->ncols; c++)
		printf("%-*s%s", c + 1 == t->ncols ? 0 : (int)w[c], t->head.v[c],
		       c + 1 == t->ncols ? "\n" : "  ");
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			printf("%-*s%s", c + 1 == t->ncols ? 0 : (int)w[c],
			       t->cells.v[r * t->ncols + c], c + 1 == t->ncols ? "\n" : "  ");
}

void table_free(struct table *t)
{
	sv_free(&t->head);
	sv_free(&t->cells);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void table_print_json(struct table *t)
{
	size_t nrows = t->ncols ? t->cells.n / t->ncols : 0;
	printf("[");
	for (size_t r = 0; r < nrows; r++) {
		printf("%s\n  {", r ? "," : "");
		for (size_t c = 0; c < t->ncols; c++) {
			_cleanup_free_ char *k = xstrdup(t->head.v[c]);
			for (char *p = k; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			printf("%s", c ? ", " : "");
			json_str(k);
			printf(": ");
			json_str(t->cells.v[r * t->ncols + c]);
		}
		printf("}");
	}
	printf("%s]\n", nrows ? "\n" : "");
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
	const char *x = s->t->cells.v[ra * s->t->ncols + s->col];
	const char *y = s->t->cells.v[rb * s->t->ncols + s->col];
	char *ex, *ey;
	long long nx = strtoll(x, &ex, 10), ny = strtoll(y, &ey, 10);
	if (*x && *y && !*ex && !*ey)
		return nx < ny ? -1 : nx > ny;
	int c = strcmp(x, y);
	return c ? c : (ra < rb ? -1 : 1);
}

void table_sort(struct table *t, int col)
{
	if (col < 0 || !t->ncols)
		return;
	size_t nrows = t->cells.n / t->ncols;
	_cleanup_free_ size_t *idx = xcalloc(nrows + 1, sizeof(size_t));
	for (size_t r = 0; r < nrows; r++)
		idx[r] = r;
	struct sort_by by = {t, (size_t)col};
	qsort_r(idx, nrows, sizeof(size_t), row_cmp, &by);
	_cleanup_free_ char **nc = xcalloc(t->cells.n + 1, sizeof(char *));
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < t->ncols; c++)
			nc[r * t->ncols + c] = t->cells.v[idx[r] * t->ncols + c];
	memcpy(t->cells.v, nc, t->cells.n * sizeof(char *));
}

int table_emit(struct table *t, bool script, bool json, const char *sortcol, const char *cmd)
{
	if (sortcol) {
		int c = table_col(t, sortcol);
		if (c < 0)
			return usage_err(cmd, "no column '%s' to sort by", sortcol);
		table_sort(t, c);
	}
	if (json)
		table_print_json(t);
	else
		table_print(t, script);
	return CMD_OK;
}
