#ifndef CORCHCRYPT_SHIM_H
#define CORCHCRYPT_SHIM_H
#include <crypt.h>
#endif
