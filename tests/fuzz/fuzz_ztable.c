/* Fuzz target: `zfs -H` output tables (ztable_parse) and every plan built from them
 * without zfs: snaplist rows, snapremove, creation-txg order and rollback, promote,
 * dependants of snapshots, and destroy (datasets, snapshots, order); the same text as an
 * OpenZFS txgs kstat (ztoken_txgs_open).  Input: a snapshot
 * name, a NUL, the table text; the jail is tank/iocell/jails/UA. */
#include "fuzz.h"

#include "core/destroy.h"
#include "core/snapshot.h"
#include "core/ztoken.h"

#define J "tank/iocell/jails"
#define UA "aaaaaaaa-0000-4000-8000-000000000001"
#define DS J "/" UA

static void snapshot_plans(const struct ztable *t, const char *snap)
{
	struct ztable rows;
	snaplist_rows(t, DS, &rows);
	for (size_t i = 0; i < rows.nrows; i++)
		FUZZ_CHECK(rows.rows[i].n == 4);
	ztable_free(&rows);

	struct snapremove_plan sp;
	snapremove_plan_build(t, DS, *snap ? snap : NULL, &sp);
	for (size_t i = 0; i < sp.victims.n; i++)
		FUZZ_CHECK(strncmp(sp.victims.v[i], DS, strlen(DS)) == 0 &&
			   strchr(sp.victims.v[i], '@'));
	snapremove_plan_free(&sp);

	struct ztable txgs;
	txg_rows(t, &txgs);
	for (size_t i = 1; i < txgs.nrows; i++)
		FUZZ_CHECK(strtoull(txgs.rows[i - 1].v[1], NULL, 10) <=
			   strtoull(txgs.rows[i].v[1], NULL, 10));
	struct rollback_plan rp;
	if (rollback_plan_build(&txgs, DS, snap, &rp))
		FUZZ_CHECK(rp.targets.n > 0);
	/* each newer snapshot name once, on datasets of the jail (named from its UUID on) */
	FUZZ_CHECK(rp.ngroups <= rp.newer.n);
	for (size_t i = 0; i < rp.ngroups; i++)
		for (size_t k = 0; k < rp.groups[i].on.n; k++)
			FUZZ_CHECK(strncmp(rp.groups[i].on.v[k], UA, strlen(UA)) == 0);
	rollback_plan_free(&rp);
	ztable_free(&txgs);

	struct promote_plan pp;
	promote_plan_build(t, J, &pp);
	promote_plan_free(&pp);

	struct strv snaps, out;
	sv_init(&snaps);
	sv_init(&out);
	sv_addf(&snaps, DS "@%s", snap);
	sv_addf(&snaps, DS "/root@%s", snap);
	int n = snap_dependants(t, J, &snaps, &out);
	FUZZ_CHECK(n >= 0 && out.n <= (size_t)n);
	sv_free(&snaps);
	sv_free(&out);
}

static void destroy_plan(const struct ztable *t)
{
	struct destroy_plan p;
	destroy_plan_init(&p);
	destroy_plan_add(&p, UA, DS, "a");
	destroy_plan_datasets(&p, J, t);
	destroy_plan_snapshots(&p, t);
	FUZZ_CHECK(p.n >= 1 && strcmp(p.v[0].uuid, UA) == 0);
	for (size_t i = 0; i < p.n; i++)
		for (size_t k = 0; k < i; k++)
			FUZZ_CHECK(strcmp(p.v[i].uuid, p.v[k].uuid) != 0);
	/* every jail goes after those it must wait for, each once, or the order stops */
	size_t done = 0;
	struct destroy_jail *d;
	while ((d = destroy_plan_next(&p))) {
		FUZZ_CHECK(!d->done && done < p.n);
		for (size_t a = 0; a < d->after.n; a++)
			for (size_t i = 0; i < p.n; i++)
				if (strcmp(p.v[i].uuid, d->after.v[a]) == 0)
					FUZZ_CHECK(p.v[i].done);
		d->done = true;
		done++;
	}
	free(destroy_plan_dependants(&p));
	destroy_plan_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[2];
	fuzz_parts(data, size, part, 2);
	struct ztable t;
	ztable_parse(&t, part[1]);
	for (size_t i = 0; i < t.nrows; i++)
		FUZZ_CHECK(t.rows[i].n >= 1 && t.rows[i].v[t.rows[i].n] == NULL);
	snapshot_plans(&t, part[0]);
	destroy_plan(&t);
	ztable_free(&t);
	/* the same text as an OpenZFS txg history (the pool's change token, core/ztoken.h) */
	uint64_t open = 0;
	if (ztoken_txgs_open(part[1], &open))
		FUZZ_CHECK(open <= 9007199254740991ULL);
	ioc_err_clear();
	fuzz_parts_free(part, 2);
	return 0;
}
