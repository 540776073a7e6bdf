/*
 * libnftables through its JSON API (loaded on first use, core/lazylib.h).  iocell works in
 * one table of its own, `table inet iocell`; nothing here names another table, lists or
 * flushes the whole ruleset.  A batch is one transaction: all of it applies, or nothing.
 */
#ifndef IOC_NFT_H
#define IOC_NFT_H

#include <stdbool.h>

#define NFT_TABLE "iocell" /* family inet */

/* Run one JSON batch ({"nftables":[...]}).  0, or -1 with the error: what (e.g. "add the
 * NAT rules of jail X") and libnftables' message. */
int nft_batch(const char *json, const char *what);
/* The JSON listing of table inet iocell (malloc'd), or NULL: *absent true when the table
 * does not exist (no error), else the error is recorded. */
char *nft_list_table(bool *absent);

#endif
