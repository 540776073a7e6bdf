/* Fuzz target: a jail's stored properties ("name=value" lines) made into the typed
 * configuration (jailconf_from_jail: limits, cpuset, addresses, interfaces, MAC pairs,
 * routers...), checked across properties (props_check_config), then kept in a runtime
 * state and read back (jailconf_to_state, rs_format, rs_parse, jailconf_from_state):
 * what start keeps must come back the same for exec, console, stop and cap. */
#include "fuzz.h"

#include "core/jailconf.h"

#define UUID "26e8e027-f00c-11e4-8f7f-3c970e80eb61"

static char *state_text(const struct jailconf *c)
{
	struct runstate rs = {.uuid = UUID};
	kv_init(&rs.kv);
	jailconf_to_state(c, &rs);
	char *text = rs_format(&rs);
	rs_free(&rs);
	return text;
}

static void check_conf(const struct jailconf *c)
{
	FUZZ_CHECK(c->nnics <= JC_MAX_NICS && c->naddrs <= 2 * JC_MAX_ADDRS);
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct jc_addr *a = &c->addrs[i];
		FUZZ_CHECK(a->family == 4 || a->family == 6);
		FUZZ_CHECK(a->prefix >= 0 && a->prefix <= (a->family == 4 ? 32 : 128));
		bool known = !c->vnet || c->nnics == 0;
		for (size_t k = 0; k < c->nnics && !known; k++)
			known = strcmp(c->nics[k].name, a->iface) == 0;
		FUZZ_CHECK(known);
	}
	for (size_t i = 0; i < c->nnics; i++) {
		/* interface ends: unicast MACs, the two ends different */
		FUZZ_CHECK(!(c->nics[i].mac_jail[0] & 1) && !(c->nics[i].mac_host[0] & 1));
		FUZZ_CHECK(memcmp(c->nics[i].mac_jail, c->nics[i].mac_host, 6) != 0 ||
			   !c->nics[i].mac_new);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_str(data, size);
	struct jail j = {.uuid = UUID, .path = "/tank/iocell/jails/" UUID};
	kv_init(&j.props);
	_cleanup_strv_ struct strv lines = {0};
	split(&lines, text, "\n", true);
	for (size_t i = 0; i < lines.n; i++) {
		char *eq = strchr(lines.v[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		const struct propdef *p = prop_find(lines.v[i]);
		if (p && !(p->flags & PF_DERIVED))
			kv_set(&j.props, p->name, eq + 1);
	}

	struct jailconf c;
	int rc = jailconf_from_jail(&c, &j);
	FUZZ_CHECK(rc == 0 || ioc_err_pending());
	ioc_err_clear();
	char err[512];
	(void)props_check_config(&j.props, err, sizeof(err));
	if (rc == 0) {
		check_conf(&c);
		/* the state start writes reads back to the same configuration */
		char *kept = state_text(&c);
		struct runstate rs = {.uuid = UUID};
		kv_init(&rs.kv);
		rs_parse(&rs, kept);
		struct jailconf back;
		FUZZ_CHECK(jailconf_from_state(&back, &rs) == 0);
		char *again = state_text(&back);
		FUZZ_CHECK(strcmp(kept, again) == 0);
		free(again);
		free(kept);
		jailconf_free(&back);
		rs_free(&rs);
	}
	jailconf_free(&c);
	kv_free(&j.props);
	ioc_err_clear();
	free(text);
	return 0;
}
