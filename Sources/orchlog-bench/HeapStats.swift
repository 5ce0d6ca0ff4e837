import Glibc

/// Bytes in use on the malloc heap, from glibc's `mallinfo2()` (summed over all arenas,
/// mmapped chunks included).
///
/// `<malloc.h>` is not part of Swift's Glibc module and this target has no C shim of its
/// own, so the function is looked up with `dlsym` and called through its ABI: on x86-64
/// System V a function returning a struct of ten `size_t` takes a hidden result pointer as
/// its first argument, which is exactly `void f(struct mallinfo2 *)`. Elsewhere (arm64 passes
/// that pointer in x8) `inUseBytes()` returns nil and benchmarks report the figure as unavailable.
enum HeapStats {
    /// `struct mallinfo2`: ten `size_t` fields, in order.
    private struct MallInfo2 {
        var arena = 0, ordblks = 0, smblks = 0, hblks = 0, hblkhd = 0
        var usmblks = 0, fsmblks = 0, uordblks = 0, fordblks = 0, keepcost = 0
    }

    private typealias Function = @convention(c) (UnsafeMutableRawPointer) -> UnsafeMutableRawPointer?

    private static let function: Function? = {
        #if arch(x86_64)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallinfo2") else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }()

    /// Allocated bytes (ordinary chunks plus mmapped ones), or nil when unavailable.
    static func inUseBytes() -> Int? {
        guard let f = function else { return nil }
        var info = MallInfo2()
        withUnsafeMutableBytes(of: &info) { _ = f($0.baseAddress!) }
        return info.uordblks + info.hblkhd
    }

    /// Waits until the heap stops shrinking: a closed writer's flusher thread releases its
    /// buffers (megabytes) shortly after `close()` returns, which would hide a growth measured
    /// from now. Gives up after a second.
    static func settle() {
        var last = inUseBytes() ?? 0
        for _ in 0..<50 {
            usleep(20_000)
            let now = inUseBytes() ?? 0
            if now == last { return }
            last = now
        }
    }
}
