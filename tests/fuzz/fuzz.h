/*
 * Shared by the libFuzzer targets of tests/fuzz (see README.md there): the input as
 * NUL-terminated strings of their exact length (so that ASan sees every read past the
 * end), checks of what a parser promises (a failed one aborts, as a crash does), and
 * the table through which one target serves several parsers.
 */
#ifndef IOC_FUZZ_H
#define IOC_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A parser's promise, checked on every input: the run stops with the input saved. */
#define FUZZ_CHECK(cond)                                                                    \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "fuzz check failed: %s (%s:%d)\n", #cond, __FILE__, \
				__LINE__);                                                  \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* size bytes of data as a malloc'd string (an embedded NUL ends it early). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = xmalloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* The input as up to n NUL-separated strings (missing ones ""), each malloc'd to its
 * own length; free them with fuzz_parts_free. */
static inline void fuzz_parts(const uint8_t *data, size_t size, char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const uint8_t *end = i + 1 < n ? memchr(data, '\0', size) : NULL;
		size_t len = end ? (size_t)(end - data) : size;
		parts[i] = fuzz_str(data, len);
		data += len;
		size -= len;
		if (end) {
			data++;
			size--;
		}
	}
}

static inline void fuzz_parts_free(char **parts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(parts[i]);
}

/* One target, several parsers: the input's first byte picks the case whose key it is
 * (any other byte: case byte % n), the rest is the text given to it.  Adding a parser
 * to a target is one row of its table. */
struct fuzz_case {
	char key;
	const char *name;
	void (*run)(const char *text);
};

static inline void fuzz_dispatch(const struct fuzz_case *cases, size_t n, const uint8_t *data,
				 size_t size)
{
	if (size == 0)
		return;
	const struct fuzz_case *c = &cases[data[0] % n];
	for (size_t i = 0; i < n; i++)
		if (cases[i].key == (char)data[0])
			c = &cases[i];
	char *text = fuzz_str(data + 1, size - 1);
	c->run(text);
	free(text);
	ioc_err_clear();
}

#define FUZZ_N(a) (sizeof(a) / sizeof((a)[0]))

#endif
