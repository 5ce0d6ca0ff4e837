import Foundation
import OrchLog
import Synchronization

/// The follower side of the tail-latency benchmark, on its own thread.
/// `@unchecked Sendable`: `latencies` and `error` are written by the follower thread only and
/// read after `finished` is signalled; `seen` and `stopping` are atomics.
final class TailFollower: @unchecked Sendable {
    let path: String
    let expected: Int
    private(set) var latencies: [Double] = []
    private(set) var error: Error?
    private let seenCount = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    let finished = DispatchSemaphore(value: 0)

    init(path: String, expected: Int) {
        self.path = path
        self.expected = expected
        latencies.reserveCapacity(expected)
    }

    var seen: Int { seenCount.load(ordering: .acquiring) }

    func stop() { stopping.store(true, ordering: .releasing) }

    /// Follows the source until `stop()`, like `orchlog tail -f`.
    func follow() {
        defer { finished.signal() }
        let reader = SourceReader(source: SourceDirectory(name: "bench", path: path))
        let watcher = DirectoryWatcher(paths: [path])
        do {
            while !stopping.load(ordering: .acquiring) {
                try reader.pollBlocks { block in
                    let now = Clock.realtimeNs()
                    for e in block.events { latencies.append(Double(Int64(bitPattern: now &- e.timestamp)) / 1e6) }
                }
                seenCount.store(latencies.count, ordering: .releasing)
                if latencies.count >= expected { break }
                watcher.wait(timeoutMs: 250)
            }
        } catch {
            self.error = error
        }
    }
}
