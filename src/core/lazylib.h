/*
 * libarchive, libcurl and libcrypto are loaded on first use (dlopen), not at program start:
 * only fetch and the image commands need them, and their dependency trees (TLS,
 * Kerberos, LDAP, XML, ICU...) would otherwise cost every command, exec and start
 * included, several milliseconds of dynamic loading.
 *
 * Include this after <archive.h>, <archive_entry.h> and <curl/curl.h>: each library
 * function used is then called through a table filled at the first call.  If a library
 * cannot be loaded, iocell stops with one clear error line.
 */
#ifndef IOC_LAZYLIB_H
#define IOC_LAZYLIB_H

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt as a plain function */
#endif
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <openssl/evp.h>

#define LAZY_ARCHIVE_FUNCS(X) \
	X(archive_entry_copy_stat) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_hardlink) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_set_symlink) \
	X(archive_entry_size) \
	X(archive_error_string) \
	X(archive_filter_bytes) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open_filename) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_filter_xz) \
	X(archive_read_support_format_all) \
	X(archive_read_support_format_tar) \
	X(archive_write_add_filter_xz) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_data_block) \
	X(archive_write_disk_new) \
	X(archive_write_disk_set_options) \
	X(archive_write_finish_entry) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open_filename) \
	X(archive_write_set_format_pax_restricted)

#define LAZY_CURL_FUNCS(X) \
	X(curl_easy_cleanup) \
	X(curl_easy_getinfo) \
	X(curl_easy_init) \
	X(curl_easy_perform) \
	X(curl_easy_setopt) \
	X(curl_easy_strerror) \
	X(curl_global_cleanup) \
	X(curl_global_init)

#define LAZY_CRYPTO_FUNCS(X) \
	X(EVP_DigestFinal_ex) \
	X(EVP_DigestInit_ex) \
	X(EVP_DigestUpdate) \
	X(EVP_MD_CTX_free) \
	X(EVP_MD_CTX_new) \
	X(EVP_sha256)

#define LAZY_FIELD(f) __typeof__(&f) f;
struct lazy_archive {
	LAZY_ARCHIVE_FUNCS(LAZY_FIELD)
};
struct lazy_curl {
	LAZY_CURL_FUNCS(LAZY_FIELD)
};
struct lazy_crypto {
	LAZY_CRYPTO_FUNCS(LAZY_FIELD)
};
#undef LAZY_FIELD

const struct lazy_archive *lazy_archive(void);
const struct lazy_curl *lazy_curl(void);
const struct lazy_crypto *lazy_crypto(void);

#ifndef IOC_LAZYLIB_IMPL
#define LAZY_A(f) (lazy_archive()->f)
#define LAZY_C(f) (lazy_curl()->f)
#define LAZY_O(f) (lazy_crypto()->f)
#define EVP_DigestFinal_ex LAZY_O(EVP_DigestFinal_ex)
#define EVP_DigestInit_ex LAZY_O(EVP_DigestInit_ex)
#define EVP_DigestUpdate LAZY_O(EVP_DigestUpdate)
#define EVP_MD_CTX_free LAZY_O(EVP_MD_CTX_free)
#define EVP_MD_CTX_new LAZY_O(EVP_MD_CTX_new)
#define EVP_sha256 LAZY_O(EVP_sha256)
#define archive_entry_copy_stat LAZY_A(archive_entry_copy_stat)
#define archive_entry_filetype LAZY_A(archive_entry_filetype)
#define archive_entry_free LAZY_A(archive_entry_free)
#define archive_entry_hardlink LAZY_A(archive_entry_hardlink)
#define archive_entry_new LAZY_A(archive_entry_new)
#define archive_entry_pathname LAZY_A(archive_entry_pathname)
#define archive_entry_set_filetype LAZY_A(archive_entry_set_filetype)
#define archive_entry_set_mtime LAZY_A(archive_entry_set_mtime)
#define archive_entry_set_pathname LAZY_A(archive_entry_set_pathname)
#define archive_entry_set_perm LAZY_A(archive_entry_set_perm)
#define archive_entry_set_size LAZY_A(archive_entry_set_size)
#define archive_entry_set_symlink LAZY_A(archive_entry_set_symlink)
#define archive_entry_size LAZY_A(archive_entry_size)
#define archive_error_string LAZY_A(archive_error_string)
#define archive_filter_bytes LAZY_A(archive_filter_bytes)
#define archive_read_data LAZY_A(archive_read_data)
#define archive_read_data_block LAZY_A(archive_read_data_block)
#define archive_read_free LAZY_A(archive_read_free)
#define archive_read_new LAZY_A(archive_read_new)
#define archive_read_next_header LAZY_A(archive_read_next_header)
#define archive_read_open_filename LAZY_A(archive_read_open_filename)
#define archive_read_support_filter_all LAZY_A(archive_read_support_filter_all)
#define archive_read_support_filter_xz LAZY_A(archive_read_support_filter_xz)
#define archive_read_support_format_all LAZY_A(archive_read_support_format_all)
#define archive_read_support_format_tar LAZY_A(archive_read_support_format_tar)
#define archive_write_add_filter_xz LAZY_A(archive_write_add_filter_xz)
#define archive_write_close LAZY_A(archive_write_close)
#define archive_write_data LAZY_A(archive_write_data)
#define archive_write_data_block LAZY_A(archive_write_data_block)
#define archive_write_disk_new LAZY_A(archive_write_disk_new)
#define archive_write_disk_set_options LAZY_A(archive_write_disk_set_options)
#define archive_write_finish_entry LAZY_A(archive_write_finish_entry)
#define archive_write_free LAZY_A(archive_write_free)
#define archive_write_header LAZY_A(archive_write_header)
#define archive_write_new LAZY_A(archive_write_new)
#define archive_write_open_filename LAZY_A(archive_write_open_filename)
#define archive_write_set_format_pax_restricted LAZY_A(archive_write_set_format_pax_restricted)
#define curl_easy_cleanup LAZY_C(curl_easy_cleanup)
#undef curl_easy_getinfo
#define curl_easy_getinfo LAZY_C(curl_easy_getinfo)
#define curl_easy_init LAZY_C(curl_easy_init)
#define curl_easy_perform LAZY_C(curl_easy_perform)
#undef curl_easy_setopt
#define curl_easy_setopt LAZY_C(curl_easy_setopt)
#define curl_easy_strerror LAZY_C(curl_easy_strerror)
#define curl_global_cleanup LAZY_C(curl_global_cleanup)
#define curl_global_init LAZY_C(curl_global_init)
#endif

#endif
