import Foundation
import OrchLog

/// `emit`: the cost of `EventLog.emit` for the `generate` mix, one thread and two threads
/// contending for the buffer lock, and its heap allocations in steady state.
///
/// The buffer is sized to hold a whole run (`bufferCapacity` = events per run) and drained
/// (`flush`) between runs, so every timed emit takes the accept path — the drop path of a
/// full buffer is cheaper and would flatter the figure. The flusher runs as usual meanwhile.
struct EmitBenchmark {
    let config: BenchConfig

    func run() throws -> BenchmarkResult {
        var result = BenchmarkResult(name: "emit")
        let n = config.emitEvents
        let corpus = EventCorpus(count: n)
        let dir = try TempDirectory("emit", under: config.baseDirectory)
        defer { dir.remove() }
        var options = EventLogOptions()
        options.bufferCapacity = n
        options.fsync = .never
        let log = try EventLog(directory: dir.sub("emit"), options: options)
        defer { log.close() }
        try corpus.prepare(log)
        let events = corpus.events

        // One thread. The heap is sampled around the measured runs only (after warm-up).
        for _ in 0..<config.emitWarmup {
            _ = emitAll(log, events[...])
            log.flush()
        }
        let heapBefore = HeapStats.inUseBytes()
        var one: [Double] = []
        for _ in 0..<config.emitRuns {
            one.append(emitAll(log, events[...]))
            log.flush()
        }
        let heapAfter = HeapStats.inUseBytes()
        try checkNoDrops(log)
        result.add(Figure("ns_per_emit_1_thread", "ns", one, target: .atMost(100)))

        // Two threads, each emitting half of the corpus at the same time.
        let half = n / 2
        let shared = events
        var two: [Double] = []
        for run in 0..<(config.emitWarmup + config.emitRuns) {
            log.flush()
            let elapsed = ParallelRun.timed(threads: 2) { i in
                let slice = i == 0 ? shared[0..<half] : shared[half..<2 * half]
                for e in slice { log.emit(e) }
            }
            if run >= config.emitWarmup {
                two.append(Double(elapsed.reduce(0, +)) / Double(elapsed.count) / Double(half))
            }
        }
        result.add(Figure("ns_per_emit_2_threads", "ns", two, target: .atMost(300),
                          note: "per emit as each thread sees it (thread wall time / its emits), mean of the 2 threads"))

        log.flush()
        try checkNoDrops(log)

        if let before = heapBefore, let after = heapAfter {
            let perEmit = Double(max(0, after - before)) / Double(n * config.emitRuns)
            result.add(Figure("heap_bytes_per_emit_1_thread", "bytes", [perEmit], zeroAllowed: true,
                              note: "net growth of mallinfo2 in-use bytes over \(n * config.emitRuns) steady-state emits (flusher included)"))
        } else {
            result.note("heap bytes per emit: mallinfo2 is not callable on this architecture")
        }
        if config.emitValgrindCount {
            if let count = try EmitAllocationProbe.countPerEmit() {
                result.add(Figure("allocations_per_emit", "allocs", [count.perEmit], target: .atMost(0), zeroAllowed: true,
                                  note: "exact: valgrind malloc count, \(count.rounds.1) vs \(count.rounds.0) rounds of \(EmitAllocationProbe.roundEvents) emits, smallest difference ÷ extra emits (differences: \(count.differences.map(String.init).joined(separator: ", ")))"))
            } else {
                result.note("allocations per emit: valgrind not found; install it (apt-get install valgrind) for the exact count")
            }
        } else {
            result.note("allocations per emit: exact valgrind count skipped in --quick")
        }
        result.note("\(n) events of the generate mix per run; buffer capacity \(n) so no emit is dropped; fsync never")
        return result
    }

    private func checkNoDrops(_ log: EventLog) throws {
        let dropped = log.stats.droppedBufferFull
        guard dropped == 0 else {
            throw BenchError("\(dropped) events were dropped (buffer full): the figures would mix in the drop path")
        }
    }

    /// Emits `events` from this thread; returns ns per emit.
    private func emitAll(_ log: EventLog, _ events: ArraySlice<Event>) -> Double {
        let start = Clock.nowNs()
        for e in events { log.emit(e) }
        return Double(Clock.nowNs() - start) / Double(events.count)
    }
}
