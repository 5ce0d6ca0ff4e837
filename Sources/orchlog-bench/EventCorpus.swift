import OrchCLI
import OrchLog

/// A pre-generated run of the `generate` mix, so benchmarks time the writer and not the
/// generator. Label handles are ids 0, 1, 2, … in the order of `labels`, which is the order
/// a fresh `EventLog` assigns them: `prepare(_:)` interns them into a log before replay.
struct EventCorpus {
    /// The events, in emit order.
    let events: [Event]
    /// Distinct label values in first-use order (index = label id).
    let labels: [String]

    /// Generates exactly `count` events (the last invocation is cut short) from `seed`.
    init(count: Int, seed: UInt64 = 1) {
        var ids: [String: UInt32] = [:]
        var order: [String] = []
        var mix = SyntheticMix(seed: seed) { value in
            if let id = ids[value] { return Label(id: id) }
            let id = UInt32(order.count)
            ids[value] = id
            order.append(value)
            return Label(id: id)
        }
        var events: [Event] = []
        events.reserveCapacity(count + 32)
        while events.count < count { mix.step { events.append($0) } }
        events.removeLast(events.count - count)
        self.events = events
        labels = order
    }

    /// Interns the corpus' labels into a fresh log so its handles mean the same strings.
    /// - Throws: `BenchError` when the log assigns different ids (it was not fresh).
    func prepare(_ log: EventLog) throws {
        for (i, value) in labels.enumerated() where log.label(value).id != UInt32(i) {
            throw BenchError("\(log.directory): label \(value) did not get id \(i); the log must be fresh")
        }
    }
}

extension EventCorpus {
    /// Hidden flag: `--internal-write-corpus DIR N` writes the first N corpus events (seed 1)
    /// as a log in DIR, so a test can check the corpus is still `orchlog generate`'s mix.
    static let exportFlag = "--internal-write-corpus"

    static func export(to directory: String, count: Int) -> Int32 {
        let corpus = EventCorpus(count: count)
        do {
            let log = try EventLog(directory: directory)
            try corpus.prepare(log)
            LogFiller.fill(log, corpus.events)
            log.close()
            return log.stats.dropped == 0 ? 0 : 1
        } catch {
            BenchCommand.progress("\(error)")
            return 1
        }
    }
}
