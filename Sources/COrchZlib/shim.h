#ifndef CORCHZLIB_SHIM_H
#define CORCHZLIB_SHIM_H
#include <zlib.h>

/// deflateInit2 is a macro; Swift cannot call it directly.
static inline int COrchZlib_deflateInit2(z_streamp strm, int level, int windowBits) {
    return deflateInit2(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

/// inflateInit2 is a macro; Swift cannot call it directly.
static inline int COrchZlib_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
