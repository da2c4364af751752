// The PKCS#11 (Cryptoki) API as p11-kit's header declares it (libp11-kit-dev). airlock links no
// PKCS#11 library: it loads the token's module with dlopen and calls its function list.
#include <p11-kit-1/p11-kit/pkcs11.h>
