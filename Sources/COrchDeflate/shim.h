#ifndef CORCHDEFLATE_SHIM_H
#define CORCHDEFLATE_SHIM_H
/// libdeflate (Debian's libdeflate-dev): whole-buffer DEFLATE in the zlib format (RFC 1950),
/// byte-compatible with zlib's inflate, about 2.3× faster to compress at level 1 and 2× faster
/// to inflate on orchlog's blocks (BENCHMARKS.md).
#include <libdeflate.h>
#endif
