/* OpenSSL (libssl and libcrypto from Debian's libssl-dev): the one C module every Swift wrapper
 * of OpenSSL imports (Hashing, Signing, Endpoints). */
#include <time.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/ts.h>

/* OpenSSL macros Swift cannot import, as functions. */
static inline void airlock_openssl_free(void *p) { OPENSSL_free(p); }
static inline long airlock_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
static inline long airlock_tls_set_server_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }

/* STACK_OF(X509) is reached through macros only. A stack made here does not own its certificates. */
static inline STACK_OF(X509) *airlock_sk_x509_new(void) { return sk_X509_new_null(); }
static inline int airlock_sk_x509_push(STACK_OF(X509) *stack, X509 *certificate) { return sk_X509_push(stack, certificate); }
static inline void airlock_sk_x509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }
static inline int airlock_sk_x509_num(STACK_OF(X509) *stack) { return sk_X509_num(stack); }
static inline X509 *airlock_sk_x509_value(STACK_OF(X509) *stack, int index) { return sk_X509_value(stack, index); }

/* "CN=x, O=y" in the certificate's own order, as `openssl x509 -subject` shows it. */
static inline unsigned long airlock_name_flags(void) { return (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN; }

/* An ASN.1 time as seconds since 1970 (RFC 3161 genTime, certificate validity); -1 when unreadable. */
static inline long long airlock_asn1_time_seconds(const ASN1_TIME *time) {
    struct tm parts;
    if (time == NULL || ASN1_TIME_to_tm(time, &parts) != 1) return -1;
    return (long long)timegm(&parts);
}
