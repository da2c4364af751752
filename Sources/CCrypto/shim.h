#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>

/* OpenSSL macros Swift cannot import, as functions. */
static inline void airlock_openssl_free(void *p) { OPENSSL_free(p); }
static inline long airlock_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }
