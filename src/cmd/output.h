/* Output of the command layer: tables aligned on a terminal or in a pipe alike, tab-
 * separated for scripts (-H), comma-separated on request (inuse -c), or one JSON document
 * (-j): an array of objects with the table's columns as keys (lower case, blanks as "_"),
 * numbers as JSON numbers.  The format is what the options say, never what stdout is. */
#ifndef IOC_CMD_OUTPUT_H
#define IOC_CMD_OUTPUT_H

#include "core/util.h"

enum outfmt { OUT_TABLE, OUT_SCRIPT, OUT_JSON, OUT_CSV };

/* How -j types a column's cells (a NULL cell, and "-" in a number column, are null):
 *   't' text (a JSON string)     'i' integer          'n' number (decimal; "1.25x" is 1.25)
 *   'b' bytes: the cell given is a byte count, shown in human units (2G, 1.50M) in the
 *       table, -H and -c, and as the number in JSON
 *   'v' a property value: an integer when it is one, else text */
struct table {
	size_t ncols;
	struct strv head;
	char *kinds;       /* one kind per column */
	struct strv cells; /* shown, row-major ("-" for NULL) */
	struct strv json;  /* each cell's JSON literal, row-major */
};
/* kinds: one character per column, NULL for all text. */
void table_init(struct table *t, const char *const *head, const char *kinds);
/* One row of ncols cells (NULL: "-" / null). */
void table_add(struct table *t, const char *const *row);
/* The same with a JSON literal of one's own for the cells where json[i] is not NULL. */
void table_add_json(struct table *t, const char *const *row, const char *const *json);
/* The column named name (case-insensitive), or -1. */
int table_col(const struct table *t, const char *name);
/* Sort the rows by column col: numerically when both cells are numbers (bytes columns by
 * their values), else by text; stable. */
void table_sort(struct table *t, int col);
/* Print in the chosen format, sorted by the column sortcol when given (a usage error of
 * command cmd when there is no such column), else by defcol when given.  Returns CMD_OK
 * or CMD_USAGE. */
int table_emit(struct table *t, enum outfmt fmt, const char *sortcol, const char *defcol,
	       const char *cmd);
void table_free(struct table *t);

/* JSON text of s as a string literal (malloc'd). */
char *json_quote(const char *s);
/* The JSON literal of a cell of kind k (malloc'd): "null" for NULL or a non-number in a
 * number column. */
char *json_cell(char k, const char *s);
/* The key a column name becomes: "IN FORCE" -> "in_force" (malloc'd). */
char *json_key(const char *col);

/* Parse the output options of a read verb: -H (script), -j (JSON) and, with csv, -c.
 * Used from a getopt loop: returns true when c was one of them. */
bool outfmt_opt(int c, enum outfmt *fmt, int *nset);
/* After the loop: a usage error (CMD_USAGE returned) when different ones were given (nset
 * starts at 0), else -1. */
int outfmt_check(const char *cmd, int nset);

#endif
