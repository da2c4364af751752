#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/pem.h>
#include <openssl/bio.h>

/* OpenSSL macros Swift cannot import, as functions. */
static inline long airlock_tls_set_server_name(SSL *ssl, const char *name) { return SSL_set_tlsext_host_name(ssl, name); }
static inline int airlock_tls_chain_count(STACK_OF(X509) *chain) { return sk_X509_num(chain); }
static inline X509 *airlock_tls_chain_at(STACK_OF(X509) *chain, int index) { return sk_X509_value(chain, index); }
static inline long airlock_tls_bio_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
/* "CN=x, O=y" in the certificate's own order, as `openssl x509 -subject` shows it. */
static inline unsigned long airlock_tls_name_flags(void) { return (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) | XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN; }
