import Glibc
import Synchronization

extension EventLog {
    /// An event log that keeps every emitted event in memory — no directory, no files, no
    /// background thread — for the unit tests of an instrumented component: hand it to the
    /// component instead of a file-backed log, then assert exactly which events it emitted
    /// (`recordedEvents`, `recordedRecords`). `emit` runs the same code as on disk.
    ///
    /// ```swift
    /// let log = EventLog.inMemory()
    /// let breaker = MyBreaker(log: log)
    /// breaker.trip()
    /// #expect(log.recordedEvents == [.breakerTransition(tool: log.label("crm"), from: .closed, to: .open)])
    /// ```
    ///
    /// Events emitted after `close()` are dropped and counted in `stats`, as on disk.
    public static func inMemory() -> EventLog {
        EventLog(memory: MemoryStore(), capacity: 1024)
    }

    /// Whether this log was made by `inMemory()`.
    public var isInMemory: Bool { memory != nil }

    /// The events emitted so far, in order, as emitted (labels as handles of this log, so
    /// `log.label("crm")` compares equal). Empty for a file-backed log. A record emitted with
    /// an enumeration code this build does not know (`emit(record:)`) has no `Event`: it is in
    /// `recordedRecords` only.
    public var recordedEvents: [Event] {
        recordedRaw.compactMap(Event.init(raw:))
    }

    /// The events emitted so far, in order, with sequence numbers (from 1), timestamps and
    /// label strings resolved — the shape `orchlog tail` and readers show. Empty for a
    /// file-backed log.
    public var recordedRecords: [EventRecord] {
        let raw = recordedRaw
        let strings = labelTable.withLock { $0.strings }
        return raw.map { event in
            EventRecord(raw: event, source: "") { id in
                id < strings.count ? String(decoding: strings[id], as: UTF8.self) : ""
            }
        }
    }

    /// Forgets the events recorded so far (sequence numbers go on).
    public func removeRecordedEvents() {
        guard let memory else { return }
        memory.collect(self)
        memory.events.withLock { $0.removeAll() }
    }

    private var recordedRaw: [RawEvent] {
        guard let memory else { return [] }
        memory.collect(self)
        return memory.events.withLock { $0 }
    }
}

/// Where an in-memory log keeps its events.
final class MemoryStore: Sendable {
    let events = Mutex<[RawEvent]>([])
    /// The drain buffers; its lock makes the callers of `collect` one consumer.
    private let scratch = Mutex(DrainScratch())

    /// Moves every thread's pending events into the store (numbered, in the order a file-backed
    /// log would write them); the buffers start over.
    @inline(never)
    func collect(_ log: EventLog) {
        scratch.withLock { sc in
            // Until a complete pass: everything emitted before this call is then in the store.
            while true {
                let pass = log.stripes.drain(&sc, everything: log.stripes.sealed.load(ordering: .acquiring)) { piece, firstSeq in
                    events.withLock { stored in
                        for (i, e) in piece.enumerated() {
                            var numbered = e
                            numbered.seq = firstSeq &+ UInt64(i)
                            stored.append(numbered)
                        }
                    }
                }
                if pass.complete { break }
                sched_yield()
            }
        }
    }
}
