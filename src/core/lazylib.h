/*
 * libarchive, libcurl and libcrypto are loaded on first use (dlopen), not at program start:
 * only fetch and the image commands need them, and their dependency trees (TLS,
 * Kerberos, LDAP, XML, ICU...) would otherwise cost every command, exec and start
 * included, several milliseconds of dynamic loading.  libmnl (network set-up),
 * libseccomp (compiling the filter, which is cached) and libuuid (new jails) are
 * loaded the same way: ~0.12 ms each that start, exec and stop would otherwise pay.
 * libsystemd (sd-bus: a jail's scope unit on systemd hosts with cgroup v2) too: only
 * start and stop there need it.
 * libnftables (NAT jails only) is loaded by lazy_nft_try, which reports a missing library
 * as an error of the operation instead of stopping iocell: a start or stop in progress
 * must be able to undo its steps.
 *
 * Include this after the libraries' own headers: each library function used is then
 * called through a table filled at the first call.  If a library cannot be loaded,
 * iocell stops with one clear error line.
 */
#ifndef IOC_LAZYLIB_H
#define IOC_LAZYLIB_H

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK /* curl_easy_setopt as a plain function */
#endif
#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <libmnl/libmnl.h>
#include <nftables/libnftables.h>
#include <openssl/evp.h>
#include <seccomp.h>
#include <systemd/sd-bus.h>
#include <uuid/uuid.h>

#define LAZY_ARCHIVE_FUNCS(X)              \
	X(archive_entry_copy_stat)         \
	X(archive_entry_xattr_clear)       \
	X(archive_entry_uid)               \
	X(archive_entry_set_uname)         \
	X(archive_entry_set_uid)           \
	X(archive_entry_set_gname)         \
	X(archive_entry_set_gid)           \
	X(archive_entry_gid)               \
	X(archive_entry_filetype)          \
	X(archive_entry_free)              \
	X(archive_entry_hardlink)          \
	X(archive_entry_new)               \
	X(archive_entry_pathname)          \
	X(archive_entry_set_filetype)      \
	X(archive_entry_set_mtime)         \
	X(archive_entry_set_pathname)      \
	X(archive_entry_set_perm)          \
	X(archive_entry_set_size)          \
	X(archive_entry_set_symlink)       \
	X(archive_entry_size)              \
	X(archive_errno)                   \
	X(archive_error_string)            \
	X(archive_filter_bytes)            \
	X(archive_read_data)               \
	X(archive_read_data_block)         \
	X(archive_read_free)               \
	X(archive_read_new)                \
	X(archive_read_next_header)        \
	X(archive_read_open_filename)      \
	X(archive_read_support_filter_all) \
	X(archive_read_support_filter_xz)  \
	X(archive_read_support_format_all) \
	X(archive_read_support_format_tar) \
	X(archive_write_add_filter_xz)     \
	X(archive_write_close)             \
	X(archive_write_data)              \
	X(archive_write_data_block)        \
	X(archive_write_disk_new)          \
	X(archive_write_disk_set_options)  \
	X(archive_write_finish_entry)      \
	X(archive_write_free)              \
	X(archive_write_header)            \
	X(archive_write_new)               \
	X(archive_write_open_filename)     \
	X(archive_write_set_format_pax_restricted)

#define LAZY_CURL_FUNCS(X)     \
	X(curl_easy_cleanup)   \
	X(curl_easy_getinfo)   \
	X(curl_easy_init)      \
	X(curl_easy_perform)   \
	X(curl_easy_setopt)    \
	X(curl_easy_strerror)  \
	X(curl_global_cleanup) \
	X(curl_global_init)

#define LAZY_CRYPTO_FUNCS(X)  \
	X(EVP_DigestFinal_ex) \
	X(EVP_DigestInit_ex)  \
	X(EVP_DigestUpdate)   \
	X(EVP_MD_CTX_free)    \
	X(EVP_MD_CTX_new)     \
	X(EVP_sha256)

#define LAZY_MNL_FUNCS(X)               \
	X(mnl_attr_get_payload)         \
	X(mnl_attr_get_payload_len)     \
	X(mnl_attr_get_str)             \
	X(mnl_attr_get_type)            \
	X(mnl_attr_get_u32)             \
	X(mnl_attr_nest_end)            \
	X(mnl_attr_nest_start)          \
	X(mnl_attr_next)                \
	X(mnl_attr_ok)                  \
	X(mnl_attr_put)                 \
	X(mnl_attr_put_str)             \
	X(mnl_attr_put_strz)            \
	X(mnl_attr_put_u16)             \
	X(mnl_attr_put_u32)             \
	X(mnl_attr_put_u8)              \
	X(mnl_attr_validate)            \
	X(mnl_cb_run2)                  \
	X(mnl_nlmsg_get_payload)        \
	X(mnl_nlmsg_get_payload_offset) \
	X(mnl_nlmsg_get_payload_tail)   \
	X(mnl_nlmsg_put_extra_header)   \
	X(mnl_nlmsg_put_header)         \
	X(mnl_nlmsg_size)               \
	X(mnl_socket_bind)              \
	X(mnl_socket_close)             \
	X(mnl_socket_fdopen)            \
	X(mnl_socket_get_fd)            \
	X(mnl_socket_get_portid)        \
	X(mnl_socket_open2)             \
	X(mnl_socket_recvfrom)          \
	X(mnl_socket_sendto)            \
	X(mnl_socket_setsockopt)

#define LAZY_SECCOMP_FUNCS(X)     \
	X(seccomp_arch_add)       \
	X(seccomp_attr_set)       \
	X(seccomp_export_bpf)     \
	X(seccomp_init)           \
	X(seccomp_release)        \
	X(seccomp_rule_add_array) \
	X(seccomp_syscall_resolve_name)

#define LAZY_SDBUS_FUNCS(X)               \
	X(sd_bus_call)                    \
	X(sd_bus_error_free)              \
	X(sd_bus_error_has_name)          \
	X(sd_bus_flush_close_unref)       \
	X(sd_bus_match_signal_async)      \
	X(sd_bus_message_append)          \
	X(sd_bus_message_close_container) \
	X(sd_bus_message_new_method_call) \
	X(sd_bus_message_open_container)  \
	X(sd_bus_message_read)            \
	X(sd_bus_message_unref)           \
	X(sd_bus_new)                     \
	X(sd_bus_open_system)             \
	X(sd_bus_process)                 \
	X(sd_bus_set_address)             \
	X(sd_bus_start)                   \
	X(sd_bus_wait)

#define LAZY_UUID_FUNCS(X) \
	X(uuid_generate)   \
	X(uuid_unparse_lower)

#define LAZY_NFT_FUNCS(X)            \
	X(nft_ctx_new)               \
	X(nft_ctx_free)              \
	X(nft_ctx_output_set_flags)  \
	X(nft_ctx_buffer_output)     \
	X(nft_ctx_buffer_error)      \
	X(nft_ctx_get_output_buffer) \
	X(nft_ctx_get_error_buffer)  \
	X(nft_run_cmd_from_buffer)

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
struct lazy_mnl {
	LAZY_MNL_FUNCS(LAZY_FIELD)
};
struct lazy_seccomp {
	LAZY_SECCOMP_FUNCS(LAZY_FIELD)
};
struct lazy_uuid {
	LAZY_UUID_FUNCS(LAZY_FIELD)
};
struct lazy_sdbus {
	LAZY_SDBUS_FUNCS(LAZY_FIELD)
};
struct lazy_nft {
	LAZY_NFT_FUNCS(LAZY_FIELD)
};
#undef LAZY_FIELD

const struct lazy_archive *lazy_archive(void);
const struct lazy_curl *lazy_curl(void);
const struct lazy_crypto *lazy_crypto(void);
const struct lazy_mnl *lazy_mnl(void);
const struct lazy_seccomp *lazy_seccomp(void);
const struct lazy_uuid *lazy_uuid(void);
const struct lazy_sdbus *lazy_sdbus(void);
/* libnftables, or NULL with the error recorded (and a hint naming the package). */
const struct lazy_nft *lazy_nft_try(void);

#ifndef IOC_LAZYLIB_IMPL
#define LAZY_A(f) (lazy_archive()->f)
#define LAZY_C(f) (lazy_curl()->f)
#define LAZY_O(f) (lazy_crypto()->f)
#define LAZY_M(f) (lazy_mnl()->f)
#define LAZY_S(f) (lazy_seccomp()->f)
#define LAZY_U(f) (lazy_uuid()->f)
#define LAZY_D(f) (lazy_sdbus()->f)
#define mnl_attr_get_payload LAZY_M(mnl_attr_get_payload)
#define mnl_attr_get_payload_len LAZY_M(mnl_attr_get_payload_len)
#define mnl_attr_get_str LAZY_M(mnl_attr_get_str)
#define mnl_attr_get_type LAZY_M(mnl_attr_get_type)
#define mnl_attr_get_u32 LAZY_M(mnl_attr_get_u32)
#define mnl_attr_nest_end LAZY_M(mnl_attr_nest_end)
#define mnl_attr_nest_start LAZY_M(mnl_attr_nest_start)
#define mnl_attr_next LAZY_M(mnl_attr_next)
#define mnl_attr_ok LAZY_M(mnl_attr_ok)
#define mnl_attr_put LAZY_M(mnl_attr_put)
#define mnl_attr_put_str LAZY_M(mnl_attr_put_str)
#define mnl_attr_put_strz LAZY_M(mnl_attr_put_strz)
#define mnl_attr_put_u16 LAZY_M(mnl_attr_put_u16)
#define mnl_attr_put_u32 LAZY_M(mnl_attr_put_u32)
#define mnl_attr_put_u8 LAZY_M(mnl_attr_put_u8)
#define mnl_attr_validate LAZY_M(mnl_attr_validate)
#define mnl_cb_run2 LAZY_M(mnl_cb_run2)
#define mnl_nlmsg_get_payload LAZY_M(mnl_nlmsg_get_payload)
#define mnl_nlmsg_get_payload_offset LAZY_M(mnl_nlmsg_get_payload_offset)
#define mnl_nlmsg_get_payload_tail LAZY_M(mnl_nlmsg_get_payload_tail)
#define mnl_nlmsg_put_extra_header LAZY_M(mnl_nlmsg_put_extra_header)
#define mnl_nlmsg_put_header LAZY_M(mnl_nlmsg_put_header)
#define mnl_nlmsg_size LAZY_M(mnl_nlmsg_size)
#define mnl_socket_bind LAZY_M(mnl_socket_bind)
#define mnl_socket_close LAZY_M(mnl_socket_close)
#define mnl_socket_fdopen LAZY_M(mnl_socket_fdopen)
#define mnl_socket_get_fd LAZY_M(mnl_socket_get_fd)
#define mnl_socket_get_portid LAZY_M(mnl_socket_get_portid)
#define mnl_socket_open2 LAZY_M(mnl_socket_open2)
#define mnl_socket_recvfrom LAZY_M(mnl_socket_recvfrom)
#define mnl_socket_sendto LAZY_M(mnl_socket_sendto)
#define mnl_socket_setsockopt LAZY_M(mnl_socket_setsockopt)
#define seccomp_arch_add LAZY_S(seccomp_arch_add)
#define seccomp_attr_set LAZY_S(seccomp_attr_set)
#define seccomp_export_bpf LAZY_S(seccomp_export_bpf)
#define seccomp_init LAZY_S(seccomp_init)
#define seccomp_release LAZY_S(seccomp_release)
#define seccomp_rule_add_array LAZY_S(seccomp_rule_add_array)
#define seccomp_syscall_resolve_name LAZY_S(seccomp_syscall_resolve_name)
#define uuid_generate LAZY_U(uuid_generate)
#define uuid_unparse_lower LAZY_U(uuid_unparse_lower)
#define sd_bus_call LAZY_D(sd_bus_call)
#define sd_bus_error_free LAZY_D(sd_bus_error_free)
#define sd_bus_error_has_name LAZY_D(sd_bus_error_has_name)
#define sd_bus_flush_close_unref LAZY_D(sd_bus_flush_close_unref)
#define sd_bus_match_signal_async LAZY_D(sd_bus_match_signal_async)
#define sd_bus_message_append LAZY_D(sd_bus_message_append)
#define sd_bus_message_close_container LAZY_D(sd_bus_message_close_container)
#define sd_bus_message_new_method_call LAZY_D(sd_bus_message_new_method_call)
#define sd_bus_message_open_container LAZY_D(sd_bus_message_open_container)
#define sd_bus_message_read LAZY_D(sd_bus_message_read)
#define sd_bus_message_unref LAZY_D(sd_bus_message_unref)
#define sd_bus_new LAZY_D(sd_bus_new)
#define sd_bus_open_system LAZY_D(sd_bus_open_system)
#define sd_bus_process LAZY_D(sd_bus_process)
#define sd_bus_set_address LAZY_D(sd_bus_set_address)
#define sd_bus_start LAZY_D(sd_bus_start)
#define sd_bus_wait LAZY_D(sd_bus_wait)
#define EVP_DigestFinal_ex LAZY_O(EVP_DigestFinal_ex)
#define EVP_DigestInit_ex LAZY_O(EVP_DigestInit_ex)
#define EVP_DigestUpdate LAZY_O(EVP_DigestUpdate)
#define EVP_MD_CTX_free LAZY_O(EVP_MD_CTX_free)
#define EVP_MD_CTX_new LAZY_O(EVP_MD_CTX_new)
#define EVP_sha256 LAZY_O(EVP_sha256)
#define archive_entry_copy_stat LAZY_A(archive_entry_copy_stat)
#define archive_entry_xattr_clear LAZY_A(archive_entry_xattr_clear)
#define archive_entry_uid LAZY_A(archive_entry_uid)
#define archive_entry_set_uname LAZY_A(archive_entry_set_uname)
#define archive_entry_set_uid LAZY_A(archive_entry_set_uid)
#define archive_entry_set_gname LAZY_A(archive_entry_set_gname)
#define archive_entry_set_gid LAZY_A(archive_entry_set_gid)
#define archive_entry_gid LAZY_A(archive_entry_gid)
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
#define archive_errno LAZY_A(archive_errno)
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
