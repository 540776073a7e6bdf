/* The order of rcboot and rcshutdown (see bootplan.h). */
#include "core/bootplan.h"
#include "core/parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bootplan_init(struct bootplan *p, bool reverse)
{
	memset(p, 0, sizeof(*p));
	p->reverse = reverse;
}

size_t bootplan_add(struct bootplan *p, const char *uuid, const char *tag, int prio,
		    const char *depends, bool wanted)
{
	p->v = xrealloc(p->v, (p->n + 1) * sizeof(*p->v));
	struct boot_node *b = &p->v[p->n];
	memset(b, 0, sizeof(*b));
	snprintf(b->uuid, sizeof(b->uuid), "%s", uuid);
	b->tag = xstrdup(tag && *tag ? tag : uuid);
	b->prio = b->eff = prio;
	b->depends = xstrdup(depends && *depends && !streq(depends, "-") ? depends : "none");
	b->wanted = wanted;
	b->st = wanted ? BN_WAITING : BN_OUT;
	return p->n++;
}

void bootplan_free(struct bootplan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].tag);
		free(p->v[i].depends);
		free(p->v[i].deps);
		free(p->v[i].why);
	}
	free(p->v);
	memset(p, 0, sizeof(*p));
}

static long find(const struct bootplan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (streq(p->v[i].tag, name) || streq(p->v[i].uuid, name))
			return (long)i;
	return -1;
}

static void set_why(struct boot_node *b, enum boot_state st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(struct boot_node *b, enum boot_state st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(b->why);
	b->why = xstrdup(msg);
	b->st = st;
}

/* The names of node i's depends as indexes; false (the reason in why) for an unknown or
 * malformed one. */
static bool link_deps(struct bootplan *p, size_t i, char *why, size_t n)
{
	struct boot_node *b = &p->v[i];
	char(*names)[130] = xcalloc(64, sizeof(*names));
	size_t cnt = 0;
	bool ok = parse_name_list(b->depends, names, 64, &cnt, why, n);
	b->deps = xcalloc(cnt ? cnt : 1, sizeof(*b->deps));
	b->ndeps = 0;
	for (size_t k = 0; k < cnt && ok; k++) {
		long d = find(p, names[k]);
		if (d < 0) {
			snprintf(why, n, "it depends on '%s', which is not a jail", names[k]);
			ok = false;
		} else {
			b->deps[b->ndeps++] = (size_t)d;
		}
	}
	free(names);
	return ok;
}

/* Depth-first from `at`: on a cycle, 1 with its nodes in path[*from..*to] and its text
 * in out. */
static int dfs(const struct bootplan *p, size_t at, int *color, size_t *path, size_t depth,
	       struct sbuf *out, size_t *from, size_t *to)
{
	color[at] = 1;
	path[depth] = at;
	for (size_t k = 0; k < p->v[at].ndeps; k++) {
		size_t d = p->v[at].deps[k];
		if (p->v[d].st == BN_OUT)
			continue;
		if (color[d] == 1) {
			size_t f = 0;
			while (path[f] != d)
				f++;
			for (size_t x = f; x <= depth; x++)
				sb_printf(out, "%s -> ", p->v[path[x]].tag);
			sb_add(out, p->v[d].tag);
			*from = f;
			*to = depth;
			return 1;
		}
		if (color[d] == 0 && dfs(p, d, color, path, depth + 1, out, from, to))
			return 1;
	}
	color[at] = 2;
	return 0;
}

/* The nodes of every cycle fail (boot) or lose their edges (shutdown). */
static void break_cycles(struct bootplan *p)
{
	int *color = xcalloc(p->n + 1, sizeof(int));
	size_t *path = xcalloc(p->n + 1, sizeof(size_t));
	for (bool again = true; again;) {
		again = false;
		memset(color, 0, (p->n + 1) * sizeof(int));
		for (size_t i = 0; i < p->n && !again; i++) {
			if (color[i] || p->v[i].st == BN_OUT)
				continue;
			struct sbuf cyc;
			sb_init(&cyc);
			size_t from = 0, to = 0;
			if (dfs(p, i, color, path, 0, &cyc, &from, &to)) {
				again = true;
				for (size_t k = from; k <= to; k++) {
					struct boot_node *b = &p->v[path[k]];
					if (!p->reverse)
						set_why(b, BN_FAILED, "dependency cycle: %s",
							cyc.s);
					b->ndeps = 0;
				}
			}
			sb_free(&cyc);
		}
	}
	free(color);
	free(path);
}

/* Boot: the nodes wanted ones depend on take part too. */
static void pull_in(struct bootplan *p)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < p->n; i++) {
			if (p->v[i].st == BN_OUT)
				continue;
			for (size_t k = 0; k < p->v[i].ndeps; k++) {
				struct boot_node *d = &p->v[p->v[i].deps[k]];
				if (d->st == BN_OUT) {
					d->st = BN_WAITING;
					again = true;
				}
			}
		}
	}
}

/* Boot: what depends on a node that failed or was skipped is skipped. */
static void skip_dependants(struct bootplan *p)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < p->n; i++) {
			struct boot_node *b = &p->v[i];
			if (b->st != BN_WAITING)
				continue;
			for (size_t k = 0; k < b->ndeps; k++) {
				const struct boot_node *d = &p->v[b->deps[k]];
				if (d->st == BN_FAILED || d->st == BN_SKIPPED) {
					set_why(b, BN_SKIPPED, "it depends on %s, which %s", d->tag,
						d->st == BN_FAILED ? "failed" : "was skipped");
					again = true;
					break;
				}
			}
		}
	}
}

void bootplan_resolve(struct bootplan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		char why[300];
		if (!link_deps(p, i, why, sizeof(why))) {
			p->v[i].ndeps = 0;
			if (!p->reverse && p->v[i].st != BN_OUT)
				set_why(&p->v[i], BN_FAILED, "%s", why);
		}
	}
	if (!p->reverse)
		pull_in(p);
	break_cycles(p);
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < p->n; i++)
			for (size_t k = 0; k < p->v[i].ndeps; k++) {
				struct boot_node *d = &p->v[p->v[i].deps[k]];
				if (p->v[i].st != BN_OUT && d->eff > p->v[i].eff) {
					d->eff = p->v[i].eff;
					again = true;
				}
			}
	}
	if (!p->reverse)
		skip_dependants(p);
}

static bool finished(enum boot_state s) { return s != BN_WAITING && s != BN_RUNNING; }

/* May node i go now? */
static bool ready(const struct bootplan *p, size_t i)
{
	const struct boot_node *b = &p->v[i];
	if (b->st != BN_WAITING)
		return false;
	for (size_t k = 0; k < p->n; k++) {
		const struct boot_node *o = &p->v[k];
		if (finished(o->st))
			continue;
		if (p->reverse ? o->eff > b->eff : o->eff < b->eff)
			return false;
	}
	if (!p->reverse) {
		for (size_t k = 0; k < b->ndeps; k++)
			if (p->v[b->deps[k]].st != BN_UP)
				return false;
		return true;
	}
	for (size_t k = 0; k < p->n; k++) {
		const struct boot_node *o = &p->v[k];
		if (finished(o->st))
			continue;
		for (size_t d = 0; d < o->ndeps; d++)
			if (o->deps[d] == i)
				return false;
	}
	return true;
}

long bootplan_next(struct bootplan *p)
{
	long best = -1;
	for (size_t i = 0; i < p->n; i++) {
		if (!ready(p, i))
			continue;
		const struct boot_node *b = &p->v[i], *c = best >= 0 ? &p->v[best] : NULL;
		int cmp = c ? (b->eff != c->eff ? (b->eff < c->eff ? -1 : 1)
						: strcmp(b->tag, c->tag))
			    : -1;
		if (!c || (p->reverse ? cmp > 0 : cmp < 0))
			best = (long)i;
	}
	if (best >= 0)
		p->v[best].st = BN_RUNNING;
	return best;
}

void bootplan_done(struct bootplan *p, size_t i, bool ok, const char *why)
{
	struct boot_node *b = &p->v[i];
	if (ok)
		b->st = BN_UP;
	else
		set_why(b, BN_FAILED, "%s", why && *why ? why : "failed");
	if (!ok && !p->reverse)
		skip_dependants(p);
}

bool bootplan_finished(const struct bootplan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!finished(p->v[i].st))
			return false;
	return true;
}

bool depends_valid(const char *uuid, const char *value, const struct strv *uuids,
		   const struct strv *tags, const struct strv *depends, char *err, size_t errlen)
{
	struct bootplan p;
	bootplan_init(&p, false);
	long self = -1;
	for (size_t i = 0; i < uuids->n; i++) {
		bool me = streq(uuids->v[i], uuid);
		if (me)
			self = (long)i;
		bootplan_add(&p, uuids->v[i], i < tags->n ? tags->v[i] : uuids->v[i], 0,
			     me ? value : (i < depends->n ? depends->v[i] : "none"), true);
	}
	if (self < 0)
		self = (long)bootplan_add(&p, uuid, uuid, 0, value, true);
	bool ok = link_deps(&p, (size_t)self, err, errlen);
	for (size_t i = 0; i < p.n && ok; i++) {
		char why[300];
		if ((long)i != self && !link_deps(&p, i, why, sizeof(why)))
			p.v[i].ndeps = 0; /* another jail's stale name: not this change's fault */
	}
	if (ok) {
		int *color = xcalloc(p.n + 1, sizeof(int));
		size_t *path = xcalloc(p.n + 1, sizeof(size_t));
		struct sbuf cyc;
		sb_init(&cyc);
		size_t from, to;
		if (dfs(&p, (size_t)self, color, path, 0, &cyc, &from, &to)) {
			snprintf(err, errlen, "it would make a dependency cycle: %s", cyc.s);
			ok = false;
		}
		sb_free(&cyc);
		free(color);
		free(path);
	}
	bootplan_free(&p);
	return ok;
}
