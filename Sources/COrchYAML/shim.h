#ifndef CORCHYAML_SHIM_H
#define CORCHYAML_SHIM_H
#include <yaml.h>
#endif
