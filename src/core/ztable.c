/*
 * The tables and key/value lists of core/zfs.h: zfs's tab-separated output parsed into
 * rows, and the ordered property lists the zfs calls take (no zfs call here).
 */
#include "core/zfs.h"

#include <stdlib.h>
#include <string.h>

void ztable_parse(struct ztable *t, const char *text)
{
	t->nrows = 0;
	t->rows = NULL;
	size_t cap = 0;
	const char *p = text ? text : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n) {
			if (t->nrows == cap) {
				cap = cap ? cap * 2 : 16;
				t->rows = xrealloc(t->rows, cap * sizeof(*t->rows));
			}
			char *line = xstrndup(p, n);
			struct strv *row = &t->rows[t->nrows++];
			memset(row, 0, sizeof(*row));
			split(row, line, "\t", false);
			free(line);
		}
		p += n;
		if (*p)
			p++;
	}
}

void ztable_add(struct ztable *t, const char *const *cells, size_t n)
{
	t->rows = xrealloc(t->rows, (t->nrows + 1) * sizeof(*t->rows));
	struct strv *r = &t->rows[t->nrows++];
	sv_init(r);
	for (size_t i = 0; i < n; i++)
		sv_add(r, cells[i]);
}

void ztable_free(struct ztable *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		sv_free(&t->rows[i]);
	free(t->rows);
	t->rows = NULL;
	t->nrows = 0;
}

void kv_init(struct kv *kv)
{
	sv_init(&kv->k);
	sv_init(&kv->v);
}

void kv_free(struct kv *kv)
{
	sv_free(&kv->k);
	sv_free(&kv->v);
}

static long kv_find(const struct kv *kv, const char *k)
{
	for (size_t i = 0; i < kv->k.n; i++)
		if (strcmp(kv->k.v[i], k) == 0)
			return (long)i;
	return -1;
}

void kv_set(struct kv *kv, const char *k, const char *v)
{
	if (!kv->k.v)
		kv_init(kv);
	long i = kv_find(kv, k);
	if (i >= 0) {
		free(kv->v.v[i]);
		kv->v.v[i] = xstrdup(v);
		return;
	}
	sv_add(&kv->k, k);
	sv_add(&kv->v, v);
}

const char *kv_get(const struct kv *kv, const char *k)
{
	if (!kv->k.v)
		return NULL;
	long i = kv_find(kv, k);
	return i >= 0 ? kv->v.v[i] : NULL;
}

bool kv_del(struct kv *kv, const char *k)
{
	long i = kv->k.v ? kv_find(kv, k) : -1;
	if (i < 0)
		return false;
	free(kv->k.v[i]);
	free(kv->v.v[i]);
	for (size_t j = (size_t)i; j + 1 < kv->k.n; j++) {
		kv->k.v[j] = kv->k.v[j + 1];
		kv->v.v[j] = kv->v.v[j + 1];
	}
	kv->k.n--;
	kv->v.n--;
	kv->k.v[kv->k.n] = NULL;
	kv->v.v[kv->v.n] = NULL;
	return true;
}
