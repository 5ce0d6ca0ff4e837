#ifndef CORCHPQ_SHIM_H
#define CORCHPQ_SHIM_H
#include <libpq-fe.h>
#endif
