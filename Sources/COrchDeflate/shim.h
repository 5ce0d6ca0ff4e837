#ifndef CORCHDEFLATE_SHIM_H
#define CORCHDEFLATE_SHIM_H
/// libdeflate (Debian's libdeflate-dev): whole-buffer DEFLATE in the zlib format (RFC 1950),
/// byte-compatible with zlib's inflate, 2.2× faster to compress at level 1 and 1.8× faster
/// to inflate on orchlog's blocks (BENCHMARKS.md).
#include <libdeflate.h>
#endif
