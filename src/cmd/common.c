/* Helpers shared by the command handlers: the command table's lookup, option parsing,
 * usage messages, PROP=VALUE arguments.  main.c registers its table here; nothing here
 * calls back into main.c. */
#include "cmd/cmd.h"
#include "core/runstate.h"
#include "platform.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cmd_help_shown;
bool cmd_raw_status;

static const struct cmddef *cmd_table;

void cmd_register(const struct cmddef *table) { cmd_table = table; }

const struct cmddef *cmd_find(const char *name)
{
	for (const struct cmddef *c = cmd_table; c && c->name; c++)
		if (streq(c->name, name))
			return c;
	return NULL;
}

void cmd_usage(const char *name, bool to_stderr)
{
	const struct cmddef *c = cmd_find(name);
	FILE *f = to_stderr ? stderr : stdout;
	if (!c)
		return;
	fprintf(f, "usage: iocell %s %s\n", c->name, c->usage);
	if (!to_stderr)
		fprintf(f, "%s\n", c->summary);
}

int usage_err(const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "iocell %s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	cmd_usage(name, true);
	return CMD_USAGE;
}

int cmd_getopt(const char *name, int argc, char **argv, const char *opts)
{
	char *o = xasprintf("+:h%s", opts);
	opterr = 0;
	int c = getopt(argc, argv, o);
	free(o);
	if (c == 'h') {
		cmd_usage(name, false);
		cmd_help_shown = true;
		return 'h';
	}
	if (c == '?') {
		usage_err(name, "unknown option '-%c'", optopt);
		return '?';
	}
	if (c == ':') {
		usage_err(name, "option '-%c' needs a value", optopt);
		return '?';
	}
	return c;
}

int cmd_flag(const char *name, int argc, char **argv, char flag, bool *set)
{
	char opts[2] = {flag, '\0'};
	int c;
	while ((c = cmd_getopt(name, argc, argv, opts)) != -1) {
		if (flag && c == flag)
			*set = true;
		else
			return c == 'h' ? CMD_OK : CMD_USAGE;
	}
	return -1;
}

bool parse_assignments(const char *cmd, char **args, int n, struct kv *out)
{
	kv_init(out);
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(args[i], '=');
		if (!eq || eq == args[i]) {
			usage_err(cmd, "'%s' is not PROPERTY=VALUE", args[i]);
			return false;
		}
		char *k = xstrndup(args[i], (size_t)(eq - args[i]));
		if (kv_get(out, k)) {
			usage_err(cmd, "%s is given twice", k);
			free(k);
			return false;
		}
		kv_set(out, k, eq + 1);
		free(k);
	}
	return true;
}

int cmd_running(const char *name, struct runstate *rs, char uuid[37], const char *also)
{
	int r = plat_lookup(name, rs, uuid);
	if (r > 0)
		return 0;
	rs_free(rs);
	if (r == 0) {
		ioc_err("jail %s is not running", name);
		ioc_hint("start it with 'iocell start %s'%s", name, also);
	}
	return -1;
}
