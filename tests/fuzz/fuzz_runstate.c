/* Fuzz target: a runtime state file (RUNDIR/UUID.state, which exec, console, stop and
 * cap read instead of ZFS): rs_parse, the write-back round trip, and the configuration
 * rebuilt from it (jailconf_from_state), which must keep a usable configuration even
 * when a value is invalid. */
#include "fuzz.h"

#include "core/jailconf.h"

#define UUID "26e8e027-f00c-11e4-8f7f-3c970e80eb61"

static bool same_kv(const struct kv *a, const struct kv *b)
{
	if (a->k.n != b->k.n)
		return false;
	for (size_t i = 0; i < a->k.n; i++)
		if (strcmp(a->k.v[i], b->k.v[i]) != 0 || strcmp(a->v.v[i], b->v.v[i]) != 0)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct runstate rs = {.uuid = UUID}, back = {.uuid = UUID};
	kv_init(&rs.kv);
	kv_init(&back.kv);
	rs_parse(&rs, text);
	for (size_t i = 0; i < rs.kv.k.n; i++)
		FUZZ_CHECK(!strchr(rs.kv.k.v[i], '=') && !strchr(rs.kv.k.v[i], '\n'));

	/* written back (rs_write's text) and read again: the same keys and values */
	char *written = rs_format(&rs);
	rs_parse(&back, written);
	FUZZ_CHECK(same_kv(&rs.kv, &back.kv));
	free(written);

	(void)rs_num(&rs, RS_JID, -1);
	(void)rs_num(&rs, RS_PID, -1);
	(void)rs_num(&rs, RS_STARTTIME, 0);

	struct jailconf c;
	if (jailconf_from_state(&c, &rs) < 0)
		FUZZ_CHECK(ioc_err_pending());
	ioc_err_clear();
	/* usable either way: stop works from it */
	FUZZ_CHECK(c.tag && c.hostname && c.root && c.login_flags && c.cpuset_text);
	FUZZ_CHECK(strlen(c.lim.cpuset) < sizeof(c.lim.cpuset));
	for (int i = 0; i < LIM_N; i++)
		FUZZ_CHECK(c.lim.v[i].action == 0 || c.lim.on);
	jailconf_free(&c);

	rs_free(&rs);
	rs_free(&back);
	free(text);
	return 0;
}
