#ifndef CORCHSYS_SHIM_H
#define CORCHSYS_SHIM_H
/// CPU hints Swift has no spelling for.

/// Asks the CPU to fetch the cache line at `p` for writing, ahead of the store. `emit` writes
/// each event into buffer slots the flusher last read on another core; without the hint every
/// new line costs the emitting thread a cross-core ownership transfer on its critical path.
static inline void orchlog_prefetch_for_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}
#endif
