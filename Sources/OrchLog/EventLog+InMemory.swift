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
        ring.withLock { _ = memory.take(&$0) }
        memory.events.withLock { $0.removeAll() }
    }

    private var recordedRaw: [RawEvent] {
        guard let memory else { return [] }
        ring.withLock { _ = memory.take(&$0) }
        return memory.events.withLock { $0 }
    }
}

/// Where an in-memory log keeps its events.
final class MemoryStore: Sendable {
    let events = Mutex<[RawEvent]>([])

    /// Moves the buffer's events into the store; the buffer starts over. Always true.
    @inline(never)
    func take(_ ring: inout RingState) -> Bool {
        let pending = UnsafeBufferPointer(start: ring.active, count: ring.count)
        events.withLock { $0.append(contentsOf: pending) }
        ring.count = 0
        return true
    }
}
