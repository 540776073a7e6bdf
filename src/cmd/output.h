/* Output of the command layer: tables aligned on a terminal, tab-separated for scripts
 * (-H), or JSON (-j). */
#ifndef IOC_CMD_OUTPUT_H
#define IOC_CMD_OUTPUT_H

#include "core/util.h"

struct table {
	size_t ncols;
	struct strv head;
	struct strv cells; /* row-major */
};
void table_init(struct table *t, const char *const *head);
/* One row of ncols cells; a NULL cell shows as "-". */
void table_add(struct table *t, const char *const *row);
/* Aligned columns under the header, or (script) tab-separated rows without it. */
void table_print(struct table *t, bool script);
/* An array of objects keyed by the lower-cased column names. */
void table_print_json(struct table *t);
/* The column named name (case-insensitive), or -1. */
int table_col(const struct table *t, const char *name);
/* Sort the rows by column col: numerically when both cells are integers, else by text;
 * stable. */
void table_sort(struct table *t, int col);
/* Print in the chosen format, sorted by the column sortcol when given (a usage error of
 * command cmd when there is no such column).  Returns CMD_OK or CMD_USAGE. */
int table_emit(struct table *t, bool script, bool json, const char *sortcol, const char *cmd);
void table_free(struct table *t);

#endif
