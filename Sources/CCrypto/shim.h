#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>

/* OpenSSL macros Swift cannot import, as functions. */
static inline void airlock_openssl_free(void *p) { OPENSSL_free(p); }
static inline long airlock_bio_get_mem_data(BIO *b, char **pp) { return BIO_get_mem_data(b, pp); }

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

/* STACK_OF(X509) is reached through macros only. The stack does not own its certificates. */
static inline STACK_OF(X509) *airlock_sk_x509_new(void) { return sk_X509_new_null(); }
static inline int airlock_sk_x509_push(STACK_OF(X509) *stack, X509 *certificate) { return sk_X509_push(stack, certificate); }
static inline void airlock_sk_x509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }
