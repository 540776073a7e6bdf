/* PLACEHOLDER: being written (releases). */
#include "core/release.h"
const char *const basejail_dirs[] = {"usr", "bin", "lib", "lib32", "lib64", "libx32", "sbin", NULL};
int release_fetch(const struct fetch_opts *o) { (void)o; ioc_err("not yet"); return -1; }
int release_make_basejail_root(const char *rel, const char *root_ds) { (void)rel; (void)root_ds; ioc_err("not yet"); return -1; }
int release_list(struct release_info **out, size_t *n) { *out = NULL; *n = 0; return 0; }
void release_info_free(struct release_info *r, size_t n) { (void)r; (void)n; }
