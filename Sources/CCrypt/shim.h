// libxcrypt (Debian's libcrypt-dev): crypt_r checks the bcrypt hashes htpasswd -B writes.
#include <crypt.h>
