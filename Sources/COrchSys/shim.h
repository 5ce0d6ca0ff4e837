#ifndef CORCHSYS_SHIM_H
#define CORCHSYS_SHIM_H
/// CPU hints Swift has no spelling for.

/// Asks the CPU to fetch the cache line at `p` for writing, ahead of the store. `emit` writes
/// each event into buffer slots the flusher last read on another core; without the hint every
/// new line costs the emitting thread a cross-core ownership transfer on its critical path.
static inline void orchlog_prefetch_for_write(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

#include <stdint.h>
#include <stddef.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

/// membarrier(2) (the libc `syscall` is variadic): `orchlog_membarrier_register()` once, then
/// `orchlog_membarrier()` issues a full memory barrier on every running thread of the process,
/// so the emit path can pair with the flusher using compiler ordering only. Both return 0 on
/// success, -1 with errno set (ENOSYS, EPERM under some seccomp profiles, EINVAL before 4.14).
static inline int orchlog_membarrier_register(void) {
    return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
}
static inline int orchlog_membarrier(void) {
    return (int)syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

/// A compiler-only barrier: keeps the emit path's stores and loads in program order without a
/// CPU fence (the consumer's membarrier supplies the fence).
static inline void orchlog_compiler_barrier(void) {
    __asm__ __volatile__("" ::: "memory");
}

/// Keeps the loads after it from running before a clock read just made (the vDSO orders
/// `rdtsc` after earlier loads, not before later ones): the emit buffers' drain reads its
/// watermark, then this, then the buffers (OrchLog's StripeRegistry says why it matters).
static inline void orchlog_clock_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ __volatile__("lfence" ::: "memory");
#elif defined(__aarch64__)
    __asm__ __volatile__("isb" ::: "memory");
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/// A spin-wait hint (x86 `pause`, arm64 `yield`).
static inline void orchlog_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Widens `count` values of `planes` (1…8) byte planes at `p` (plane j at p + j × count,
/// least significant byte first) into 64-bit values at `out`: on x86-64, 16 values at a time
/// with SSE2 unpacks (the baseline has no pmovzx), the rest one by one; elsewhere one by one
/// (the compiler vectorises that loop for the target).
static inline void orchlog_widen_planes(const uint8_t *p, size_t count, uint64_t *out, int planes) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i zero = _mm_setzero_si128();
    for (; i + 16 <= count; i += 16) {
        __m128i lo[4], hi[4];
        for (int half = 0; half < 2; half++) {
            __m128i *dst = half == 0 ? lo : hi;
            const uint8_t *base = p + (size_t)half * 4 * count;
            int n = planes - half * 4;
            if (n <= 0) {
                for (int k = 0; k < 4; k++) dst[k] = zero;
                continue;
            }
            if (n > 4) n = 4;
            /* Bytes of planes 0..3 (or 4..7) interleaved into 32-bit lanes. */
            __m128i b0 = _mm_loadu_si128((const __m128i *)(base + i));
            __m128i b1 = n > 1 ? _mm_loadu_si128((const __m128i *)(base + count + i)) : zero;
            __m128i b2 = n > 2 ? _mm_loadu_si128((const __m128i *)(base + 2 * count + i)) : zero;
            __m128i b3 = n > 3 ? _mm_loadu_si128((const __m128i *)(base + 3 * count + i)) : zero;
            __m128i w01lo = _mm_unpacklo_epi8(b0, b1), w01hi = _mm_unpackhi_epi8(b0, b1);
            __m128i w23lo = _mm_unpacklo_epi8(b2, b3), w23hi = _mm_unpackhi_epi8(b2, b3);
            dst[0] = _mm_unpacklo_epi16(w01lo, w23lo);
            dst[1] = _mm_unpackhi_epi16(w01lo, w23lo);
            dst[2] = _mm_unpacklo_epi16(w01hi, w23hi);
            dst[3] = _mm_unpackhi_epi16(w01hi, w23hi);
        }
        for (int k = 0; k < 4; k++) {
            _mm_storeu_si128((__m128i *)(out + i + 4 * k), _mm_unpacklo_epi32(lo[k], hi[k]));
            _mm_storeu_si128((__m128i *)(out + i + 4 * k + 2), _mm_unpackhi_epi32(lo[k], hi[k]));
        }
    }
#endif
    for (; i < count; i++) {
        uint64_t v = 0;
        for (int j = 0; j < planes; j++) v |= (uint64_t)p[(size_t)j * count + i] << (8 * j);
        out[i] = v;
    }
}

#endif
